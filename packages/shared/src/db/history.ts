/**
 * Retention of job history: the steps and output lines of jobs that finished longer ago than the
 * retention, the cleanup record and schedule ticks older than it. Deleted in batches (one short
 * statement each, its own transaction), so a purge never holds locks long enough to stall writes.
 * The jobs themselves stay: their status, error and times are what search and the API show.
 */
import type { Sql } from "./client.ts";

export interface HistoryPurged {
  jobSteps: number;
  jobLog: number;
  cleanupActions: number;
  scheduleTicks: number;
}

/** Runs `batch` until it deletes fewer than `size` rows; the rows deleted. */
async function inBatches(size: number, batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batch();
    total += n;
    if (n < size) return total;
  }
}

export async function purgeHistory(sql: Sql, retentionDays: number, size = 5_000): Promise<HistoryPurged> {
  const cutoff = sql`now() - make_interval(secs => ${retentionDays * 86_400})`;
  // Finished jobs past the cutoff: the index job_finished_at finds them.
  const oldJobs = sql`SELECT id FROM job WHERE finished_at < ${cutoff}`;
  const jobLog = await inBatches(size, async () => {
    const rows = await sql`
      DELETE FROM job_log WHERE id IN (
        SELECT l.id FROM job_log l WHERE l.job_id IN (${oldJobs}) LIMIT ${size})
      RETURNING 1`;
    return rows.length;
  });
  const jobSteps = await inBatches(size, async () => {
    const rows = await sql`
      DELETE FROM job_step WHERE ctid = ANY(ARRAY(
        SELECT s.ctid FROM job_step s WHERE s.job_id IN (${oldJobs}) LIMIT ${size}))
      RETURNING 1`;
    return rows.length;
  });
  const cleanupActions = await inBatches(size, async () => {
    const rows = await sql`
      DELETE FROM cleanup_action WHERE id IN (
        SELECT id FROM cleanup_action WHERE created_at < ${cutoff} ORDER BY id LIMIT ${size})
      RETURNING 1`;
    return rows.length;
  });
  const scheduleTicks = await inBatches(size, async () => {
    const rows = await sql`
      DELETE FROM schedule_tick WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM schedule_tick WHERE created_at < ${cutoff} LIMIT ${size}))
      RETURNING 1`;
    return rows.length;
  });
  return { jobSteps, jobLog, cleanupActions, scheduleTicks };
}
