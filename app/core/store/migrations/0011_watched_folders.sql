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
