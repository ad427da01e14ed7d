/** SQL of the hosts aggregate: registration, state, disk usage, reservations, cleanup records. */
import type { Sql, TransactionSql } from "./client.ts";
import { claimOperations, type OperationClaim } from "./operations.ts";

type Db = Sql | TransactionSql;

export type HostState = "active" | "draining" | "unreachable";

export interface HostRow {
  id: string;
  name: string;
  ssh_host: string;
  ssh_port: number;
  ssh_user: string;
  host_key: string;
  state: HostState;
  disk_limit_bytes: string | null;
  used_bytes: string;
  total_bytes: string;
  fs_free_bytes: string;
  reserved_bytes: string;
  workspaces: number;
  disk_checked_at: Date | null;
  last_seen_at: Date | null;
  last_error: string | null;
  port_min: number;
  port_max: number;
}

const HOST_COLUMNS = `h.id::text, h.name, h.ssh_host, h.ssh_port, h.ssh_user, h.host_key, h.state,
  h.disk_limit_bytes::text, h.used_bytes::text, h.total_bytes::text, h.fs_free_bytes::text,
  ((SELECT coalesce(sum(r.bytes), 0) FROM host_reservation r JOIN job j ON j.id = r.job_id
     WHERE r.host_id = h.id AND j.status IN ('SCHEDULED', 'IN_PROGRESS'))
   + (SELECT coalesce(sum(w.disk_bytes), 0) FROM workspace w
       WHERE w.host_id = h.id AND w.status IN ('CREATING', 'RUNNING', 'DELETING')))::text AS reserved_bytes,
  (SELECT count(*) FROM workspace w WHERE w.host_id = h.id AND w.status IN ('CREATING', 'RUNNING', 'DELETING'))::int
    AS workspaces,
  h.disk_checked_at, h.last_seen_at, h.last_error, h.port_min, h.port_max`;

export async function listHosts(db: Db): Promise<HostRow[]> {
  return db.unsafe<HostRow[]>(`SELECT ${HOST_COLUMNS} FROM hosts h ORDER BY h.name`);
}

export interface NewHost {
  id: string;
  name: string;
  sshHost: string;
  sshPort: number;
  sshUser?: string;
  hostKey: string;
  diskLimitBytes?: number | null;
}

/**
 * Registers a host, or updates the address and pinned key of the one with this name (the
 * launcher re-registers its hosts on every start). Returns the host's id.
 */
export async function upsertHost(db: Db, h: NewHost): Promise<string> {
  const [row] = await db<{ id: string }[]>`
    INSERT INTO hosts (id, name, ssh_host, ssh_port, ssh_user, host_key, disk_limit_bytes)
    VALUES (${h.id}, ${h.name}, ${h.sshHost}, ${h.sshPort}, ${h.sshUser ?? "root"}, ${h.hostKey},
            ${h.diskLimitBytes ?? null})
    ON CONFLICT (name) DO UPDATE
      SET ssh_host = excluded.ssh_host, ssh_port = excluded.ssh_port, ssh_user = excluded.ssh_user,
          host_key = excluded.host_key, version = hosts.version + 1, updated_at = now()
      WHERE (hosts.ssh_host, hosts.ssh_port, hosts.ssh_user, hosts.host_key)
            IS DISTINCT FROM (excluded.ssh_host, excluded.ssh_port, excluded.ssh_user, excluded.host_key)
    RETURNING id::text`;
  if (row) return row.id;
  const [existing] = await db<{ id: string }[]>`SELECT id::text FROM hosts WHERE name = ${h.name}`;
  if (!existing) throw new Error(`host ${h.name} vanished while being registered`);
  return existing.id;
}

/**
 * A host stopped answering: an active host becomes `unreachable` (placement passes it over until
 * it answers again). A draining host stays draining — the operator's decision outlives an outage —
 * with the error recorded. True when this is news (the host was answering until now).
 */
export async function markHostUnreachable(db: Db, id: string, error: string): Promise<boolean> {
  const rows = await db`
    UPDATE hosts
       SET state = CASE WHEN state = 'draining' THEN state ELSE 'unreachable' END,
           last_error = ${error}, version = version + 1, updated_at = now()
     WHERE id = ${id} AND (state = 'active' OR (state = 'draining' AND last_error IS NULL))
     RETURNING id`;
  return rows.length > 0;
}

export interface DiskReading {
  usedBytes: number;
  totalBytes: number;
  fsFreeBytes: number;
}

/**
 * A host answered: its disk reading is stored, an unreachable host becomes active again (a
 * draining host stays draining: that was an operator's decision), and the error is cleared.
 */
export async function recordHostSeen(db: Db, id: string, disk: DiskReading): Promise<void> {
  await db`
    UPDATE hosts
       SET used_bytes = ${disk.usedBytes}, total_bytes = ${disk.totalBytes}, fs_free_bytes = ${disk.fsFreeBytes},
           disk_checked_at = now(), last_seen_at = now(),
           state = CASE WHEN state = 'unreachable' THEN 'active' ELSE state END,
           last_error = NULL,
           version = version + 1, updated_at = now()
     WHERE id = ${id}`;
}

export interface CleanupActionRow {
  id: string;
  host_id: string;
  host_name: string;
  /** What was removed: a container, or an image (then `image_id`, and container_id null). */
  container_id: string | null;
  workspace_id: string | null;
  image_id: string | null;
  reason: string;
  action: "removed" | "would_remove" | "failed";
  detail: string | null;
  created_at: Date;
}

export async function recordCleanupAction(
  db: Db,
  a: {
    hostId: string;
    containerId: string | null;
    workspaceId: string | null;
    imageId?: string | null;
    reason: string;
    action: string;
    detail?: string;
  },
): Promise<void> {
  await db`
    INSERT INTO cleanup_action (host_id, container_id, workspace_id, image_id, reason, action, detail)
    VALUES (${a.hostId}, ${a.containerId}, ${a.workspaceId}, ${a.imageId ?? null}, ${a.reason}, ${a.action}, ${a.detail ?? null})`;
}

export async function listCleanupActions(db: Db, limit: number, beforeId?: string): Promise<CleanupActionRow[]> {
  return db<CleanupActionRow[]>`
    SELECT c.id::text, c.host_id::text, h.name AS host_name, c.container_id, c.workspace_id::text, c.image_id::text, c.reason,
           c.action, c.detail, c.created_at
      FROM cleanup_action c JOIN hosts h ON h.id = c.host_id
     WHERE ${beforeId ? db`c.id < ${beforeId}` : db`true`}
     ORDER BY c.id DESC
     LIMIT ${limit}`;
}

/** Claims the operation and registers the host; `applied` false when the name or address is taken. */
export async function applyHostRegister(
  tx: TransactionSql,
  c: OperationClaim,
  h: NewHost,
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number; applied: number }[]>`
    WITH ${claimOperations(tx, [c])}, ins AS (
      INSERT INTO hosts (id, name, ssh_host, ssh_port, ssh_user, host_key, disk_limit_bytes)
      SELECT ${h.id}, ${h.name}, ${h.sshHost}, ${h.sshPort}, ${h.sshUser ?? "root"}, ${h.hostKey},
             ${h.diskLimitBytes ?? null}
       WHERE EXISTS (SELECT 1 FROM op)
      ON CONFLICT DO NOTHING
      RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed, (SELECT count(*) FROM ins)::int AS applied`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: (row?.applied ?? 0) > 0 };
}

/** Claims the operation and drains or activates the host (an unreachable host stays so until it answers). */
export async function applyHostSetState(
  tx: TransactionSql,
  c: OperationClaim,
  h: { hostId: string; state: "draining" | "active" },
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number; applied: number }[]>`
    WITH ${claimOperations(tx, [c])}, up AS (
      UPDATE hosts SET state = CASE WHEN ${h.state} = 'active' AND state = 'unreachable' THEN state ELSE ${h.state} END,
                       version = version + 1, updated_at = now()
       WHERE id = ${h.hostId} AND EXISTS (SELECT 1 FROM op)
      RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed, (SELECT count(*) FROM up)::int AS applied`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: (row?.applied ?? 0) > 0 };
}
