import type { Sql, TransactionSql } from "./client.ts";
import { claimOperations, type OperationClaim } from "./operations.ts";

type Db = Sql | TransactionSql;

export interface JobRow {
  id: string;
  type: string;
  status: string;
  step: string | null;
  /** null for an image build: it belongs to no user. */
  user_id: string | null;
  workspace_id: string | null;
  /** The image an IMAGE_BUILD job builds; null for other jobs. */
  image_id: string | null;
  operation_id: string;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  host_id: string | null;
  host_name: string | null;
  note: string | null;
  cancel_requested: boolean;
  steps: Array<{
    name: string;
    status: string;
    attempts: number;
    startedAt: string | null;
    finishedAt: string | null;
    message: string | null;
  }>;
  version: string;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export async function getJob(db: Db, id: string): Promise<JobRow | null> {
  const rows = await db<JobRow[]>`
    SELECT id::text, type, status, step, user_id::text, workspace_id::text, image_id::text, operation_id, attempts,
           error_code, error_message, host_id::text, note, cancel_requested,
           (SELECT h.name FROM hosts h WHERE h.id = job.host_id) AS host_name,
           (SELECT coalesce(json_agg(json_build_object(
                     'name', s.name, 'status', s.status, 'attempts', s.attempts, 'startedAt', s.started_at,
                     'finishedAt', s.finished_at, 'message', s.message) ORDER BY s.position), '[]'::json)
              FROM job_step s WHERE s.job_id = job.id) AS steps,
           version::text, created_at, updated_at, started_at, finished_at
    FROM job WHERE id = ${id}`;
  return rows[0] ?? null;
}

/**
 * Claims the operation and cancels the job if `userId` (null: the admin) may and it still can be:
 * a SCHEDULED create becomes CANCELED at once (its workspace DELETED, anything held released); an
 * IN_PROGRESS one is flagged, and its provisioner stops at the next step boundary and compensates.
 */
export async function applyJobCancel(
  tx: TransactionSql,
  c: OperationClaim,
  j: { jobId: string; userId: string | null },
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number; applied: number }[]>`
    WITH ${claimOperations(tx, [c])}, prev AS (
      SELECT id, status, workspace_id FROM job
       WHERE id = ${j.jobId} AND type = 'WORKSPACE_CREATE' AND status IN ('SCHEDULED', 'IN_PROGRESS')
         AND (${j.userId}::uuid IS NULL OR user_id = ${j.userId}::uuid)
         AND EXISTS (SELECT 1 FROM op)
       FOR UPDATE
    ), jb AS (
      UPDATE job SET cancel_requested = true,
                     status = CASE WHEN prev.status = 'SCHEDULED' THEN 'CANCELED' ELSE job.status END,
                     error_code = CASE WHEN prev.status = 'SCHEDULED' THEN 'canceled' ELSE job.error_code END,
                     error_message = CASE WHEN prev.status = 'SCHEDULED' THEN 'canceled before it started'
                                          ELSE job.error_message END,
                     finished_at = CASE WHEN prev.status = 'SCHEDULED' THEN now() ELSE job.finished_at END,
                     note = NULL, version = job.version + 1, updated_at = now()
        FROM prev WHERE job.id = prev.id
      RETURNING job.id
    ), ws AS (
      UPDATE workspace SET status = 'DELETED', host_id = NULL, version = version + 1, updated_at = now()
       WHERE id IN (SELECT workspace_id FROM prev WHERE status = 'SCHEDULED') AND status = 'CREATING'
      RETURNING id
    ), freed AS (
      DELETE FROM host_reservation WHERE job_id IN (SELECT id FROM prev WHERE status = 'SCHEDULED') RETURNING job_id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed, (SELECT count(*) FROM jb)::int AS applied`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: (row?.applied ?? 0) > 0 };
}
