-- Known voices (voices.py): each speaker's voice signature with its result, the voices a
-- user named and their samples, and which voice named which speaker.
CREATE TABLE speaker_voices (
    cache_key TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (cache_key, speaker_id)
);

CREATE TABLE voices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);

CREATE TABLE voice_samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    voice_id INTEGER NOT NULL REFERENCES voices (id) ON DELETE CASCADE,
    signature BLOB NOT NULL,
    cache_key TEXT NOT NULL DEFAULT '',
    speaker_id TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    added_at REAL NOT NULL
);
CREATE INDEX voice_samples_by_voice ON voice_samples (voice_id);

CREATE TABLE voice_matches (
    cache_key TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    voice_id INTEGER NOT NULL REFERENCES voices (id) ON DELETE CASCADE,
    similarity REAL NOT NULL,
    rejected INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cache_key, speaker_id, voice_id)
);
