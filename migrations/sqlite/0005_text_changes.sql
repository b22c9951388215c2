-- The photos whose text document changed, in order. The text index records the last change it
-- applied and, on the next sync, updates only the photos changed since (a full rebuild remains
-- for a missing or damaged index, and for one older than the log: it is pruned as the index
-- catches up, and `text_log_pruned` in index_generations says up to where).
CREATE TABLE text_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id INTEGER NOT NULL
);

CREATE TRIGGER photos_text_insert AFTER INSERT ON photos BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.id);
END;
CREATE TRIGGER photos_text_update
AFTER UPDATE OF root_id, rel_path, status, content_hash, taken_at_utc, camera_make,
                camera_model, lens ON photos BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.id);
END;
CREATE TRIGGER photos_text_delete AFTER DELETE ON photos BEGIN
    INSERT INTO text_changes (photo_id) VALUES (OLD.id);
END;
CREATE TRIGGER captions_text_insert AFTER INSERT ON captions BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.photo_id);
END;
CREATE TRIGGER captions_text_update AFTER UPDATE ON captions BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.photo_id);
END;
CREATE TRIGGER captions_text_delete AFTER DELETE ON captions BEGIN
    INSERT INTO text_changes (photo_id) VALUES (OLD.photo_id);
END;
CREATE TRIGGER tags_text_insert AFTER INSERT ON tags BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.photo_id);
END;
CREATE TRIGGER tags_text_update AFTER UPDATE ON tags BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.photo_id);
END;
CREATE TRIGGER tags_text_delete AFTER DELETE ON tags BEGIN
    INSERT INTO text_changes (photo_id) VALUES (OLD.photo_id);
END;
-- Which content a zero-shot run scored decides which zero-shot tags count.
CREATE TRIGGER zero_shot_runs_text_insert AFTER INSERT ON zero_shot_runs BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.photo_id);
END;
CREATE TRIGGER zero_shot_runs_text_update AFTER UPDATE ON zero_shot_runs BEGIN
    INSERT INTO text_changes (photo_id) VALUES (NEW.photo_id);
END;
