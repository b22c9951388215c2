-- "More like this": each image Stable Diffusion made from a photo, by its file name in the
-- generated folder (DATA_DIR/generated, a library root of its own, where the scan records it
-- as a photo), with what made it.
CREATE TABLE variations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id       INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    file            TEXT NOT NULL UNIQUE,
    prompt          TEXT NOT NULL,
    negative_prompt TEXT NOT NULL,
    seed            INTEGER NOT NULL,       -- u64 stored as its two's-complement i64
    model           TEXT NOT NULL,
    strength        REAL NOT NULL,
    steps           INTEGER NOT NULL,
    guidance        REAL NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX variations_source ON variations (source_id);
