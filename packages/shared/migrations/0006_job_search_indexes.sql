-- The PostgreSQL fallback of job search (read-api GET /v1/jobs when Elasticsearch is unavailable).
-- Every search pages by keyset on (created_at, id) in either direction, so each index ends with
-- those columns: a filtered page is then an index range scan that stops after `limit` rows.

-- A user's own jobs (every user search is forced to its owner).
CREATE INDEX IF NOT EXISTS job_search_owner_created ON job (user_id, created_at DESC, id DESC);
-- The admin's unfiltered and time-ranged searches.
CREATE INDEX IF NOT EXISTS job_search_created ON job (created_at DESC, id DESC);
-- The dashboard's commonest filter (status:failed, status:running), for the admin across users.
CREATE INDEX IF NOT EXISTS job_search_status_created ON job (status, created_at DESC, id DESC);
-- Words and phrases in error messages; the expression must match job-search.ts exactly.
CREATE INDEX IF NOT EXISTS job_search_error_text ON job
  USING gin (to_tsvector('simple'::regconfig, coalesce(error_message, '')));
-- project:<name> resolves to workspaces first (deleted ones too, which the live-project key skips).
CREATE INDEX IF NOT EXISTS workspace_project_name ON workspace (project_name);
