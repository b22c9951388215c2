-- Photos by status, kept by triggers, so `shoebox status` and every progress tick count
-- without reading the library.
CREATE TABLE photo_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
);
INSERT INTO photo_counts (status, n) VALUES ('ok', 0), ('failed', 0), ('gone', 0);
UPDATE photo_counts SET n = (SELECT count(*) FROM photos WHERE photos.status = photo_counts.status);

CREATE TRIGGER photos_count_insert AFTER INSERT ON photos BEGIN
    UPDATE photo_counts SET n = n + 1 WHERE status = NEW.status;
END;
CREATE TRIGGER photos_count_delete AFTER DELETE ON photos BEGIN
    UPDATE photo_counts SET n = n - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER photos_count_update AFTER UPDATE OF status ON photos
WHEN OLD.status <> NEW.status BEGIN
    UPDATE photo_counts SET n = n - 1 WHERE status = OLD.status;
    UPDATE photo_counts SET n = n + 1 WHERE status = NEW.status;
END;
