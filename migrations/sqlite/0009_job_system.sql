-- The job system: jobs carry their work (kind, scope, photo, content), appear in the same
-- transaction as the change that makes the work (triggers below, for every scope set in
-- job_scopes), and end dead with their reason when their attempts run out. Jobs of the old
-- queue are dropped: setting the scopes at the next start enqueues whatever is still missing.
DROP TABLE jobs;

-- What work is kept for: an embedding model, a tagger (over a model's embeddings), a
-- captioner in one language.
CREATE TABLE job_scopes (
    kind     TEXT NOT NULL,
    scope    TEXT NOT NULL,
    model_id TEXT NOT NULL,            -- the CLIP model (embed, tag) or the captioner
    lang     TEXT NOT NULL DEFAULT '', -- caption language
    priority INTEGER NOT NULL,
    PRIMARY KEY (kind, scope)
);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    scope            TEXT NOT NULL,
    photo_id         INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    content_hash     BLOB NOT NULL,    -- the content the work is made from
    priority         INTEGER NOT NULL, -- higher runs first, across kinds
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0, -- claims that counted (one given back does not)
    claims           INTEGER NOT NULL DEFAULT 0, -- every claim: the fencing token
    run_after        TEXT NOT NULL,    -- backoff: not before this time
    lease_owner      TEXT,
    lease_expires_at TEXT,
    error            TEXT,             -- the last failure's reason
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (kind, scope, photo_id, content_hash)
);
CREATE INDEX jobs_claim ON jobs (kind, scope, state, priority DESC, id);
CREATE INDEX jobs_photo ON jobs (photo_id);
CREATE INDEX jobs_dead ON jobs (state, updated_at);

-- A new usable photo: a job for every embedding and caption scope.
CREATE TRIGGER photos_jobs_insert AFTER INSERT ON photos
WHEN NEW.status = 'ok' AND NEW.content_hash IS NOT NULL BEGIN
    INSERT OR IGNORE INTO jobs (kind, scope, photo_id, content_hash, priority, state, run_after,
                                created_at, updated_at)
    SELECT s.kind, s.scope, NEW.id, NEW.content_hash, s.priority, 'queued',
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    FROM job_scopes s WHERE s.kind IN ('embed', 'caption');
END;

-- A photo whose content or usability changed: jobs for older content or an unusable photo
-- go; every scope whose data is not current for the new content gets a job.
CREATE TRIGGER photos_jobs_update AFTER UPDATE OF status, content_hash ON photos
WHEN OLD.status IS NOT NEW.status OR OLD.content_hash IS NOT NEW.content_hash BEGIN
    DELETE FROM jobs WHERE photo_id = NEW.id
        AND (NEW.status <> 'ok' OR NEW.content_hash IS NULL
             OR content_hash IS NOT NEW.content_hash);
    INSERT OR IGNORE INTO jobs (kind, scope, photo_id, content_hash, priority, state, run_after,
                                created_at, updated_at)
    SELECT s.kind, s.scope, NEW.id, NEW.content_hash, s.priority, 'queued',
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    FROM job_scopes s
    WHERE NEW.status = 'ok' AND NEW.content_hash IS NOT NULL AND (
        (s.kind = 'embed' AND NOT EXISTS (
            SELECT 1 FROM embeddings e WHERE e.photo_id = NEW.id AND e.model_id = s.model_id
                AND e.content_hash = NEW.content_hash))
        OR (s.kind = 'caption' AND NOT EXISTS (
            SELECT 1 FROM captions c WHERE c.photo_id = NEW.id AND c.model_id = s.model_id
                AND c.lang = s.lang AND c.content_hash = NEW.content_hash))
        OR (s.kind = 'tag' AND EXISTS (
            SELECT 1 FROM embeddings e WHERE e.photo_id = NEW.id AND e.model_id = s.model_id
                AND e.content_hash = NEW.content_hash)
            AND NOT EXISTS (
            SELECT 1 FROM zero_shot_runs r WHERE r.photo_id = NEW.id AND r.tagger = s.scope
                AND r.content_hash = NEW.content_hash)));
END;

-- An embedding of a usable photo's current content (stored with INSERT OR REPLACE, so a new
-- one is always an insert): a job for every tagger over its model.
CREATE TRIGGER embeddings_jobs_insert AFTER INSERT ON embeddings BEGIN
    INSERT OR IGNORE INTO jobs (kind, scope, photo_id, content_hash, priority, state, run_after,
                                created_at, updated_at)
    SELECT s.kind, s.scope, NEW.photo_id, NEW.content_hash, s.priority, 'queued',
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    FROM job_scopes s JOIN photos p ON p.id = NEW.photo_id
    WHERE s.kind = 'tag' AND s.model_id = NEW.model_id AND p.status = 'ok'
        AND p.content_hash = NEW.content_hash
        AND NOT EXISTS (
            SELECT 1 FROM zero_shot_runs r WHERE r.photo_id = NEW.photo_id
                AND r.tagger = s.scope AND r.content_hash = NEW.content_hash);
END;
