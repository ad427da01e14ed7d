-- History retention (issue 14): the provisioner purges, in batches, what finished jobs leave behind
-- (their steps and output lines), the cleanup record and schedule ticks, once older than
-- A4C_HISTORY_RETENTION_DAYS. These indexes let each batch find its rows without a scan.
CREATE INDEX job_finished_at ON job (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX schedule_tick_created_at ON schedule_tick (created_at);
