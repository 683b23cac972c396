-- Notes made of a transcript by a local LLM (app/core/llm/notes.py), with the model and
-- template used and the revision of the transcript they were made from.
CREATE TABLE notes (
    cache_key TEXT PRIMARY KEY,
    data TEXT NOT NULL,                  -- JSON: notes.Notes.to_dict()
    updated_at REAL NOT NULL
);
