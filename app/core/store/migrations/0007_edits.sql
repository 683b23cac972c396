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
