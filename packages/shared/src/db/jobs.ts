import type { Sql, TransactionSql } from "./client.ts";

type Db = Sql | TransactionSql;

export interface JobRow {
  id: string;
  type: string;
  status: string;
  step: string | null;
  user_id: string;
  workspace_id: string | null;
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
    SELECT id::text, type, status, step, user_id::text, workspace_id::text, operation_id, attempts,
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
