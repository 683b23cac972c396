-- The id an HTTP API client is given for a job (app/api.py): random, so that knowing one
-- job's id tells nothing of another's; NULL for a job no client was ever given. from_api:
-- the job was added through the API (else in the window or on the command line, and then
-- its id was made when the user let the API list the window's jobs).
ALTER TABLE jobs ADD COLUMN api_id TEXT;
ALTER TABLE jobs ADD COLUMN from_api INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX jobs_by_api_id ON jobs (api_id);
