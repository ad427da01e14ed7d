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
  version: string;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export async function getJob(db: Db, id: string): Promise<JobRow | null> {
  const rows = await db<JobRow[]>`
    SELECT id::text, type, status, step, user_id::text, workspace_id::text, operation_id, attempts,
           error_code, error_message, version::text, created_at, updated_at, started_at, finished_at
    FROM job WHERE id = ${id}`;
  return rows[0] ?? null;
}
