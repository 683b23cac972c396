CREATE TABLE speaker_names (
    cache_key TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (cache_key, speaker_id)
);
