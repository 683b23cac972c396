-- The whole current schema, applied to a new database in one step.
-- An existing database is brought here by the numbered files in migrations/;
-- tests/test_store.py checks that both paths give the same schema.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    cache_key TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL,              -- JSON, the job's plain-data description
    status TEXT NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled', 'interrupted')),
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    duration REAL,                       -- seconds of audio, once known
    no_cache INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL DEFAULT 0,
    chunks_resumed INTEGER NOT NULL DEFAULT 0,  -- taken from checkpoints in the last run
    chunks_computed INTEGER NOT NULL DEFAULT 0, -- transcribed in the last run
    worker_pid INTEGER,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    note TEXT NOT NULL DEFAULT '',       -- e.g. what role naming said
    path_bytes BLOB,                     -- the path's bytes when not valid UTF-8; path shows them with U+FFFD
    session_id TEXT NOT NULL DEFAULT '', -- X-Session-ID of an upload over the HTTP API (app/api.py)
    cancel_requested INTEGER NOT NULL DEFAULT 0, -- by another process; the one running it stops it
    api_id TEXT,                         -- random id an HTTP API client was given (app/api.py), else NULL
    from_api INTEGER NOT NULL DEFAULT 0  -- added through the HTTP API (else in the window or the CLI)
);
CREATE INDEX jobs_by_key ON jobs (cache_key);
CREATE INDEX jobs_by_status ON jobs (status);
CREATE UNIQUE INDEX jobs_by_api_id ON jobs (api_id);

CREATE TABLE results (
    cache_key TEXT PRIMARY KEY,
    transcript TEXT NOT NULL,            -- JSON, app.core.transcript.Transcript.to_dict()
    created_at REAL NOT NULL
);

CREATE TABLE checkpoints (
    cache_key TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    chunk_start REAL NOT NULL,
    chunk_end REAL NOT NULL,
    result TEXT NOT NULL,                -- JSON, whisper segments of this chunk
    created_at REAL NOT NULL,
    PRIMARY KEY (cache_key, chunk_index)
);

CREATE TABLE speaker_names (
    cache_key TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (cache_key, speaker_id)
);

CREATE TABLE speaker_suggestions (
    cache_key TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    role TEXT NOT NULL,                  -- suggested by the LLM; never overwrites speaker_names
    PRIMARY KEY (cache_key, speaker_id)
);

CREATE TABLE diarization_checkpoints (
    cache_key TEXT PRIMARY KEY,
    result TEXT NOT NULL,                -- JSON, the diarizer's turns and speech regions
    created_at REAL NOT NULL
);

CREATE TABLE job_parts (
    cache_key TEXT NOT NULL,
    part INTEGER NOT NULL,               -- see app/core/pipeline.py PARTS: work a killed job need not redo
    data BLOB NOT NULL,                  -- bytes: JSON, or a NumPy array (np.save, no pickles)
    PRIMARY KEY (cache_key, part)
);

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

-- Search across every transcript (FTS5): each segment's text and its speaker's shown name,
-- accents and case ignored; kept in step by the store (store/search.py).
CREATE VIRTUAL TABLE transcript_search USING fts5 (
    name,
    text,
    cache_key,
    segment UNINDEXED,
    start UNINDEXED,
    speaker UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- A transcript as the user corrected it (app/core/edits.py), kept apart from the machine's
-- result in `results`, which is never overwritten: reverting deletes the row.
CREATE TABLE edited_results (
    cache_key TEXT PRIMARY KEY,
    transcript TEXT NOT NULL,            -- JSON, compact like results.transcript
    updated_at REAL NOT NULL
);

-- The diarizer's windows and their voice embeddings (app/core/recluster.py): the speakers
-- can be found again with another count without running anything.
CREATE TABLE speaker_windows (
    cache_key TEXT PRIMARY KEY,
    data BLOB NOT NULL                   -- np.save of float32 rows (start, end, embedding)
);

-- What each transcript shows, as a number bumped with its search rows (store/search.py):
-- another process on the history knows from it that a copy it rendered is out of date.
CREATE TABLE shown_revisions (
    cache_key TEXT PRIMARY KEY,
    revision INTEGER NOT NULL
);

-- Files a watched folder handed to the queue (app/core/jobs/watch.py). A file is known by
-- its path, size and modification time: a restart does not take it again, and of two
-- watchers on one history only the one whose row goes in takes it. `exports`: the formats
-- still to write when its job is done, into `export_to` ('' beside the recording).
CREATE TABLE watched_files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    folder TEXT NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '',
    job_id INTEGER,
    exports TEXT NOT NULL DEFAULT '[]',
    export_to TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'claimed',  -- claimed, queued, exporting, done
    note TEXT NOT NULL DEFAULT '',
    claimed_by INTEGER NOT NULL,            -- the process id of the watcher that claimed it
    claimed_at REAL NOT NULL,
    UNIQUE (path, size, mtime_ns)
);
CREATE INDEX watched_files_by_content ON watched_files (folder, sha256);

-- The automatic exports written (and what they held), so that one is replaced only by
-- another of the same recording's, never a file the user made.
CREATE TABLE watch_exports (
    path TEXT PRIMARY KEY,
    recording TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    written_at REAL NOT NULL
);

-- Notes made of a transcript by a local LLM (app/core/llm/notes.py), with the model and
-- template used and the revision of the transcript they were made from.
CREATE TABLE notes (
    cache_key TEXT PRIMARY KEY,
    data TEXT NOT NULL,                  -- JSON: notes.Notes.to_dict()
    updated_at REAL NOT NULL
);
