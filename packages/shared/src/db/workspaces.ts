import { DELETABLE_WORKSPACE_STATUSES } from "../domain/states.ts";
import type { Sql, TransactionSql } from "./client.ts";
import { claimOperation, type OperationClaim } from "./operations.ts";

type Db = Sql | TransactionSql;

export interface WorkspaceRow {
  id: string;
  user_id: string;
  project_name: string;
  image: string;
  status: string;
  host_id: string | null;
  version: string;
  created_at: Date;
  updated_at: Date;
}

const WORKSPACE_COLUMNS =
  "id::text, user_id::text, project_name, image, status, host_id::text, version::text, created_at, updated_at";

/** Claims the operation, then creates the workspace (CREATING) and its WORKSPACE_CREATE job (SCHEDULED). */
export async function applyWorkspaceCreate(
  tx: TransactionSql,
  c: OperationClaim,
  w: { userId: string; workspaceId: string; jobId: string; projectName: string; image: string },
): Promise<{ claimed: boolean }> {
  const [row] = await tx<{ claimed: number }[]>`
    WITH op AS (
      ${claimOperation(tx, c)}
    ), ws AS (
      INSERT INTO workspace (id, user_id, project_name, image, status)
      SELECT ${w.workspaceId}, ${w.userId}, ${w.projectName}, ${w.image}, 'CREATING' FROM op
      RETURNING id, user_id
    ), jb AS (
      INSERT INTO job (id, type, status, step, user_id, workspace_id, operation_id)
      SELECT ${w.jobId}, 'WORKSPACE_CREATE', 'SCHEDULED', 'queued', ws.user_id, ws.id, ${c.operationId} FROM ws
      RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed`;
  return { claimed: (row?.claimed ?? 0) > 0 };
}

/**
 * Claims the operation and, if the workspace is the user's and deletable, moves it to DELETING
 * with a WORKSPACE_DELETE job. `applied` is false when the workspace was not in such a state.
 */
export async function applyWorkspaceDelete(
  tx: TransactionSql,
  c: OperationClaim,
  w: { userId: string; workspaceId: string; jobId: string },
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number; applied: number }[]>`
    WITH op AS (
      ${claimOperation(tx, c)}
    ), ws AS (
      UPDATE workspace SET status = 'DELETING', version = version + 1, updated_at = now()
      WHERE id = ${w.workspaceId} AND user_id = ${w.userId}
        AND status = ANY(${DELETABLE_WORKSPACE_STATUSES as unknown as string[]})
        AND EXISTS (SELECT 1 FROM op)
      RETURNING id, user_id
    ), jb AS (
      INSERT INTO job (id, type, status, step, user_id, workspace_id, operation_id)
      SELECT ${w.jobId}, 'WORKSPACE_DELETE', 'SCHEDULED', 'queued', ws.user_id, ws.id, ${c.operationId} FROM ws
      RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed, (SELECT count(*) FROM ws)::int AS applied`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: (row?.applied ?? 0) > 0 };
}

export async function getWorkspace(db: Db, id: string): Promise<WorkspaceRow | null> {
  const rows = await db<WorkspaceRow[]>`SELECT ${db.unsafe(WORKSPACE_COLUMNS)} FROM workspace WHERE id = ${id}`;
  return rows[0] ?? null;
}

/** Keyset page of a user's workspaces, newest first. */
export async function listWorkspaces(
  db: Db,
  userId: string,
  limit: number,
  after?: { createdAt: string; id: string },
): Promise<WorkspaceRow[]> {
  if (after) {
    return db<WorkspaceRow[]>`
      SELECT ${db.unsafe(WORKSPACE_COLUMNS)} FROM workspace
      WHERE user_id = ${userId} AND (created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)
      ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
  }
  return db<WorkspaceRow[]>`
    SELECT ${db.unsafe(WORKSPACE_COLUMNS)} FROM workspace WHERE user_id = ${userId}
    ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
}
