import { DELETABLE_WORKSPACE_STATUSES } from "../domain/states.ts";
import type { Sql, TransactionSql } from "./client.ts";
import { claimOperations, type OperationClaim } from "./operations.ts";

type Db = Sql | TransactionSql;

export interface WorkspaceRow {
  id: string;
  user_id: string;
  project_name: string;
  image: string;
  status: string;
  host_id: string | null;
  host_name: string | null;
  container_id: string | null;
  address: string | null;
  hostname: string | null;
  version: string;
  created_at: Date;
  updated_at: Date;
  /** created_at at full (microsecond) precision, for keyset cursors; JS dates keep only ms. */
  created_at_exact: string;
}

const WORKSPACE_COLUMNS =
  "id::text, user_id::text, project_name, image, status, host_id::text, container_id, hostname, " +
  "(SELECT h.name FROM hosts h WHERE h.id = workspace.host_id) AS host_name, " +
  "(SELECT h.ssh_host || ':' || workspace.port FROM hosts h WHERE h.id = workspace.host_id) AS address, " +
  "version::text, created_at, updated_at, " +
  "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at_exact";

export interface NewWorkspace {
  userId: string;
  workspaceId: string;
  jobId: string;
  projectName: string;
  image: string;
}

/**
 * Claims the operations, then creates each claimed one's workspace (CREATING) and its
 * WORKSPACE_CREATE job (SCHEDULED), all in one statement — for those whose image may run: the
 * base image or a READY build. Returns the operation ids claimed now and, of those, the ones made.
 */
export async function applyWorkspaceCreates(
  tx: TransactionSql,
  items: Array<{ claim: OperationClaim; workspace: NewWorkspace }>,
  baseImage: string,
): Promise<{ claimed: Set<string>; made: Set<string> }> {
  const col = <T>(f: (i: (typeof items)[number]) => T) => items.map(f);
  const rows = await tx<{ operation_id: string; made: boolean }[]>`
    WITH ${claimOperations(
      tx,
      items.map((i) => i.claim),
    )}, data AS (
      SELECT * FROM unnest(
        ${col((i) => i.claim.operationId)}::text[], ${col((i) => i.workspace.workspaceId)}::uuid[],
        ${col((i) => i.workspace.jobId)}::uuid[], ${col((i) => i.workspace.userId)}::uuid[],
        ${col((i) => i.workspace.projectName)}::text[], ${col((i) => i.workspace.image)}::text[]
      ) AS d(operation_id, workspace_id, job_id, user_id, project_name, image)
    ), ok AS (
      SELECT d.* FROM data d JOIN op USING (operation_id)
       -- FOR SHARE: the image's cleanup (claimImageRemoval) waits for this transaction, then sees the workspace.
       WHERE d.image = ${baseImage}
          OR EXISTS (SELECT 1 FROM image i WHERE i.tag = d.image AND i.status = 'READY' FOR SHARE)
    ), ws AS (
      INSERT INTO workspace (id, user_id, project_name, image, status)
      SELECT ok.workspace_id, ok.user_id, ok.project_name, ok.image, 'CREATING' FROM ok
      RETURNING id
    ), jb AS (
      INSERT INTO job (id, type, status, step, user_id, workspace_id, operation_id)
      SELECT ok.job_id, 'WORKSPACE_CREATE', 'SCHEDULED', 'queued', ok.user_id, ok.workspace_id, ok.operation_id FROM ok
      RETURNING id
    )
    SELECT op.operation_id, EXISTS (SELECT 1 FROM ok WHERE ok.operation_id = op.operation_id) AS made FROM op`;
  return {
    claimed: new Set(rows.map((r) => r.operation_id)),
    made: new Set(rows.filter((r) => r.made).map((r) => r.operation_id)),
  };
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
    WITH ${claimOperations(tx, [c])}, ws AS (
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
      -- ::text first: postgres.js would send a timestamptz parameter through a JS Date (ms only).
      WHERE user_id = ${userId} AND (created_at, id) < (${after.createdAt}::text::timestamptz, ${after.id}::uuid)
      ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
  }
  return db<WorkspaceRow[]>`
    SELECT ${db.unsafe(WORKSPACE_COLUMNS)} FROM workspace WHERE user_id = ${userId}
    ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
}
