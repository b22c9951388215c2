-- A folder's records, for the scan of what a change touched (any status: a gone record's path
-- can come back), read as a range of paths.
CREATE INDEX photos_root_path ON photos (root_id, rel_path);
