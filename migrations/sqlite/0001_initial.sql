-- Shoebox schema for the whole indexing pipeline. Append-only: later changes are new files.
-- Times are RFC 3339 UTC text unless the column says otherwise; hashes are 32-byte BLAKE3.

-- Folders whose photos are in the library.
CREATE TABLE roots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    path        TEXT NOT NULL UNIQUE,          -- absolute, canonical
    added_at    TEXT NOT NULL
);

-- One row per file ever seen. Ids are never reused (AUTOINCREMENT): indices key on them.
CREATE TABLE photos (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    root_id         INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    rel_path        TEXT NOT NULL,             -- '/'-separated, relative to the root
    size            INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    content_hash    BLOB CHECK (content_hash IS NULL OR length(content_hash) = 32),
    format          TEXT,                      -- jpeg, png, webp, gif, tiff, bmp, avif, heic
    width           INTEGER,                   -- as displayed, after orientation
    height          INTEGER,
    orientation     INTEGER CHECK (orientation IS NULL OR orientation BETWEEN 1 AND 8),
    taken_at_local  TEXT,                      -- camera wall clock, 'YYYY-MM-DDTHH:MM:SS'
    taken_at_offset INTEGER,                   -- seconds east of UTC, when EXIF says
    taken_at_utc    INTEGER,                   -- Unix seconds (offset, or UTC when unknown)
    gps_lat         REAL,
    gps_lon         REAL,
    gps_alt         REAL,
    camera_make     TEXT,
    camera_model    TEXT,
    lens            TEXT,
    exposure_time_s REAL,
    f_number        REAL,
    iso             INTEGER,
    focal_length_mm REAL,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'gone')),
    error           TEXT,                      -- reason, for 'failed'
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- A path holds at most one live photo; gone records keep their last path.
CREATE UNIQUE INDEX photos_live_path ON photos (root_id, rel_path) WHERE status <> 'gone';
CREATE INDEX photos_hash ON photos (content_hash);
CREATE INDEX photos_status ON photos (status);
CREATE INDEX photos_taken ON photos (taken_at_utc);
CREATE INDEX photos_camera ON photos (camera_make, camera_model);

-- Folder-level problems of each root's last scan (unreadable folders, symlink loops).
CREATE TABLE scan_problems (
    root_id     INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    rel_path    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (root_id, rel_path)
);

-- Image embeddings, one per photo and model. content_hash is the content they were computed
-- from, so a changed file is re-embedded.
CREATE TABLE embeddings (
    photo_id     INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model_id     TEXT NOT NULL,
    dim          INTEGER NOT NULL CHECK (dim > 0),
    vector       BLOB NOT NULL CHECK (length(vector) = 4 * dim),  -- little-endian f32
    content_hash BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (photo_id, model_id)
);
CREATE INDEX embeddings_model ON embeddings (model_id);

-- Captions per photo, model and language.
CREATE TABLE captions (
    photo_id     INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    model_id     TEXT NOT NULL,
    lang         TEXT NOT NULL,
    text         TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (photo_id, model_id, lang)
);

-- Tags: zero-shot (scored by a model), user (added by hand), exif (from metadata).
CREATE TABLE tags (
    photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('zero_shot', 'user', 'exif')),
    score       REAL,                          -- probability for zero_shot, NULL otherwise
    model_id    TEXT,                          -- for zero_shot
    created_at  TEXT NOT NULL,
    PRIMARY KEY (photo_id, tag, source)
);
CREATE INDEX tags_tag ON tags (tag);

-- Durable work queue. (kind, key) is deterministic so enqueueing is idempotent.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    key              TEXT NOT NULL,
    photo_id         INTEGER REFERENCES photos(id) ON DELETE CASCADE,
    payload          TEXT,                     -- JSON, kind-specific
    priority         INTEGER NOT NULL DEFAULT 0,  -- higher runs first
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    run_after        TEXT NOT NULL,            -- backoff: not before this time
    lease_owner      TEXT,
    lease_expires_at TEXT,
    error            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_ready ON jobs (state, priority DESC, run_after);
