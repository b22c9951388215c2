-- Zero-shot tagging runs: which content of a photo was scored by which tagger (a CLIP model and
-- a vocabulary), so a photo none of whose labels passed the threshold is not scored again, and
-- a photo with new content is. Zero-shot rows in `tags` count only while the run's hash is the
-- photo's.
CREATE TABLE zero_shot_runs (
    photo_id     INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    tagger       TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    created_at   TEXT NOT NULL
);
