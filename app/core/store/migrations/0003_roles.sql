ALTER TABLE jobs ADD COLUMN note TEXT NOT NULL DEFAULT '';

CREATE TABLE speaker_suggestions (
    cache_key TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (cache_key, speaker_id)
);
