-- Smart albums: a name, one or more prompts and a threshold on the CLIP similarity of a photo
-- to the prompts. Members are scored by the tagging stage (the albums are part of the tagger's
-- fingerprint, so a new or changed album back-fills every photo) and count only while the
-- photo's zero-shot run is for its current content.
CREATE TABLE smart_albums (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    prompts    TEXT NOT NULL,            -- one prompt per line
    threshold  REAL NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE album_photos (
    album_id INTEGER NOT NULL REFERENCES smart_albums(id) ON DELETE CASCADE,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    score    REAL NOT NULL,
    PRIMARY KEY (album_id, photo_id)
);
CREATE INDEX album_photos_photo ON album_photos (photo_id);
