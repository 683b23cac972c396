-- For a second process on the same history (the HTTP API's, beside the window):
-- a cancel it asks for, which the process running the job carries out, and the revision of
-- what each transcript shows (bumped with its search rows: a result stored, a rename, a
-- correction, a known voice), by which it knows that a copy it rendered is out of date.
ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
CREATE TABLE shown_revisions (
    cache_key TEXT PRIMARY KEY,
    revision INTEGER NOT NULL
);
