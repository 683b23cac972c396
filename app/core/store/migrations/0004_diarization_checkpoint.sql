CREATE TABLE diarization_checkpoints (
    cache_key TEXT PRIMARY KEY,
    result TEXT NOT NULL,
    created_at REAL NOT NULL
);

CREATE TABLE job_parts (
    cache_key TEXT NOT NULL,
    part INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (cache_key, part)
);

-- The path's bytes when they are not valid UTF-8 (Linux): `path` then holds them shown
-- with U+FFFD, and the file is opened from these.
ALTER TABLE jobs ADD COLUMN path_bytes BLOB;
