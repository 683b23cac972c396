-- A transcript as the user corrected it (app/core/edits.py), kept apart from the machine's
-- result in `results`, which is never overwritten: reverting deletes the row.
CREATE TABLE edited_results (
    cache_key TEXT PRIMARY KEY,
    transcript TEXT NOT NULL,            -- JSON, compact like results.transcript
    updated_at REAL NOT NULL
);
