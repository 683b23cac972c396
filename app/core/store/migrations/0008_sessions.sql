-- The X-Session-ID a program sent with an upload over the HTTP API (app/api.py), to list
-- its own jobs; '' for jobs added in the window or on the command line.
ALTER TABLE jobs ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
