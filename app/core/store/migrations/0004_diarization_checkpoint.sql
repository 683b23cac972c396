CREATE TABLE diarization_checkpoints (
    cache_key TEXT PRIMARY KEY,
    result TEXT NOT NULL,
    created_at REAL NOT NULL
);
