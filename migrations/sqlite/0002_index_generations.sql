-- Watermarks of the derived indices. Each counter goes up whenever data an index is built
-- from changes; an index file records the counters it reflects, so a stale file is detected
-- at start-up and rebuilt (see crates/engine/src/indices.rs).
--   photos          paths, status, content, date, camera and lens of any photo
--   vector:MODEL    the image embeddings of one model
--   text            captions and tags
-- The triggers insert a missing counter with INSERT ... WHERE NOT EXISTS, not INSERT OR IGNORE:
-- inside a trigger the outer statement's conflict policy (an upsert's, say) replaces OR IGNORE.
CREATE TABLE index_generations (
    name        TEXT PRIMARY KEY,
    generation  INTEGER NOT NULL
);

CREATE TRIGGER photos_generation_insert AFTER INSERT ON photos BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'photos', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'photos');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'photos';
END;
-- Only the columns an index reads: a rescan that merely touches last_seen changes nothing.
CREATE TRIGGER photos_generation_update
AFTER UPDATE OF root_id, rel_path, status, content_hash, taken_at_utc, camera_make,
                camera_model, lens ON photos BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'photos', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'photos');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'photos';
END;
CREATE TRIGGER photos_generation_delete AFTER DELETE ON photos BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'photos', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'photos');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'photos';
END;

CREATE TRIGGER embeddings_generation_insert AFTER INSERT ON embeddings BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'vector:' || NEW.model_id, 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'vector:' || NEW.model_id);
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'vector:' || NEW.model_id;
END;
CREATE TRIGGER embeddings_generation_update AFTER UPDATE ON embeddings BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'vector:' || NEW.model_id, 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'vector:' || NEW.model_id);
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'vector:' || NEW.model_id;
END;
CREATE TRIGGER embeddings_generation_delete AFTER DELETE ON embeddings BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'vector:' || OLD.model_id, 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'vector:' || OLD.model_id);
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'vector:' || OLD.model_id;
END;

CREATE TRIGGER captions_generation_insert AFTER INSERT ON captions BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'text', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'text');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'text';
END;
CREATE TRIGGER captions_generation_update AFTER UPDATE ON captions BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'text', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'text');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'text';
END;
CREATE TRIGGER captions_generation_delete AFTER DELETE ON captions BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'text', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'text');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'text';
END;
CREATE TRIGGER tags_generation_insert AFTER INSERT ON tags BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'text', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'text');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'text';
END;
CREATE TRIGGER tags_generation_update AFTER UPDATE ON tags BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'text', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'text');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'text';
END;
CREATE TRIGGER tags_generation_delete AFTER DELETE ON tags BEGIN
    INSERT INTO index_generations (name, generation)
        SELECT 'text', 0 WHERE NOT EXISTS (SELECT 1 FROM index_generations WHERE name = 'text');
    UPDATE index_generations SET generation = generation + 1 WHERE name = 'text';
END;
