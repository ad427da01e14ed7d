/**
 * SQL of a workspace's placement: the host it runs on (with a disk reservation taken atomically
 * against every other placement), its container, its address and its hostname.
 */
import type { Sql, TransactionSql } from "./client.ts";
import type { HostState } from "./hosts.ts";
import { LeaseLostError } from "./job-runs.ts";

type Db = Sql | TransactionSql;

/** What placement decides on: each host's state and disk, with what is reserved on it now. */
export interface PlacementCandidate {
  id: string;
  name: string;
  state: HostState;
  usedBytes: number;
  totalBytes: number;
  fsFreeBytes: number;
  diskLimitBytes: number | null;
  reservedBytes: number;
}

/**
 * Places `jobId` under a lock on the hosts table's rows, so concurrent placements see each other's
 * reservations: `choose` gets every host and returns one id (or null: nowhere has room). The
 * reservation, the job's host and the workspace's host are written in the same transaction.
 */
export async function placeWithReservation(
  sql: Sql,
  o: { jobId: string; workspaceId: string | null; bytes: number; exclude: string[] },
  choose: (hosts: PlacementCandidate[]) => string | null,
): Promise<{ hostId: string | null; candidates: PlacementCandidate[] }> {
  return sql.begin(async (tx) => {
    // A job canceled meanwhile is placed nowhere (and holds nothing).
    const [job] = await tx<{ status: string }[]>`SELECT status FROM job WHERE id = ${o.jobId} FOR UPDATE`;
    if (job?.status !== "SCHEDULED" && job?.status !== "IN_PROGRESS") throw new LeaseLostError(o.jobId);
    const rows = await tx<
      {
        id: string;
        name: string;
        state: HostState;
        used_bytes: string;
        total_bytes: string;
        fs_free_bytes: string;
        disk_limit_bytes: string | null;
      }[]
    >`SELECT id::text, name, state, used_bytes::text, total_bytes::text, fs_free_bytes::text, disk_limit_bytes::text
        FROM hosts ORDER BY name FOR UPDATE`;
    // Held: reservations of placements in flight, and the disk of workspaces that run.
    const reserved = await tx<{ host_id: string; bytes: string }[]>`
      SELECT host_id::text, sum(bytes)::text AS bytes FROM (
        SELECT r.host_id, r.bytes FROM host_reservation r JOIN job j ON j.id = r.job_id
         WHERE r.job_id <> ${o.jobId} AND j.status IN ('SCHEDULED', 'IN_PROGRESS')
        UNION ALL
        SELECT host_id, disk_bytes FROM workspace
         WHERE host_id IS NOT NULL AND disk_bytes IS NOT NULL AND status IN ('CREATING', 'RUNNING', 'DELETING')
      ) held GROUP BY host_id`;
    const held = new Map(reserved.map((r) => [r.host_id, Number(r.bytes)]));
    const candidates = rows.map(
      (r): PlacementCandidate => ({
        id: r.id,
        name: r.name,
        state: r.state,
        usedBytes: Number(r.used_bytes),
        totalBytes: Number(r.total_bytes),
        fsFreeBytes: Number(r.fs_free_bytes),
        diskLimitBytes: r.disk_limit_bytes === null ? null : Number(r.disk_limit_bytes),
        reservedBytes: held.get(r.id) ?? 0,
      }),
    );
    const hostId = choose(candidates.filter((c) => !o.exclude.includes(c.id)));
    if (!hostId) return { hostId: null, candidates };
    await tx`
      INSERT INTO host_reservation (job_id, host_id, bytes) VALUES (${o.jobId}, ${hostId}, ${o.bytes})
      ON CONFLICT (job_id) DO UPDATE SET host_id = excluded.host_id, bytes = excluded.bytes, created_at = now()`;
    await tx`UPDATE job SET host_id = ${hostId}, version = version + 1, updated_at = now() WHERE id = ${o.jobId}`;
    if (o.workspaceId) {
      await tx`UPDATE workspace SET host_id = ${hostId}, version = version + 1, updated_at = now() WHERE id = ${o.workspaceId}`;
    }
    return { hostId, candidates };
  });
}

/**
 * Forgets a placement that made nothing (the host failed before a container existed), and sets
 * `steps` back to pending with `note`, in one transaction fenced by `owner`'s lease.
 */
export async function unplace(
  sql: Sql,
  o: { jobId: string; workspaceId: string | null; owner: string; steps: string[]; note: string },
): Promise<void> {
  const { jobId, workspaceId } = o;
  await sql.begin(async (tx) => {
    const [held] = await tx`SELECT 1 FROM job_lease WHERE job_id = ${jobId} AND owner = ${o.owner} FOR UPDATE`;
    if (!held) throw new LeaseLostError(jobId);
    await tx`UPDATE job_step SET status = 'pending', message = ${o.note}, finished_at = NULL
              WHERE job_id = ${jobId} AND name = ANY(${o.steps})`;
    await tx`DELETE FROM host_reservation WHERE job_id = ${jobId}`;
    await tx`UPDATE job SET host_id = NULL, version = version + 1, updated_at = now() WHERE id = ${jobId}`;
    if (workspaceId) {
      await tx`UPDATE workspace SET host_id = NULL, version = version + 1, updated_at = now() WHERE id = ${workspaceId}`;
    }
  });
}

export async function setContainer(db: Db, workspaceId: string, containerId: string | null): Promise<void> {
  await db`
    UPDATE workspace SET container_id = ${containerId}, version = version + 1, updated_at = now()
     WHERE id = ${workspaceId} AND container_id IS DISTINCT FROM ${containerId}`;
}

/**
 * Gives the workspace the lowest free port of its host's range (unique per host by the
 * `workspace_host_port_key` index: a concurrent assignment of the same port fails and the next
 * free one is taken). Keeps a port it already has. Null when the range is exhausted.
 */
export async function assignPort(sql: Sql, workspaceId: string): Promise<number | null> {
  for (let tries = 0; tries < 20; tries++) {
    try {
      const [row] = await sql<{ port: number | null }[]>`
        WITH w AS (SELECT id, host_id, port FROM workspace WHERE id = ${workspaceId}),
             h AS (SELECT hs.port_min, hs.port_max FROM hosts hs JOIN w ON hs.id = w.host_id),
             free AS (
               SELECT p FROM h, generate_series(h.port_min, h.port_max) AS p
                WHERE NOT EXISTS (SELECT 1 FROM workspace o, w
                                   WHERE o.host_id = w.host_id AND o.port = p
                                     AND o.status IN ('CREATING', 'RUNNING', 'DELETING'))
                ORDER BY p LIMIT 1)
        UPDATE workspace ws
           SET port = coalesce(ws.port, (SELECT p FROM free)), version = version + 1, updated_at = now()
          FROM w WHERE ws.id = w.id
        RETURNING ws.port`;
      return row?.port ?? null;
    } catch (err) {
      // Someone took the same port between our look and our write: look again.
      if ((err as { code?: string }).code !== "23505") throw err;
    }
  }
  throw new Error("could not assign a port after 20 tries");
}

/** Sets the workspace's hostname unless it has one; false when another live workspace holds it. */
export async function assignHostname(sql: Sql, workspaceId: string, hostname: string): Promise<boolean> {
  try {
    await sql`
      UPDATE workspace SET hostname = coalesce(hostname, ${hostname}), version = version + 1, updated_at = now()
       WHERE id = ${workspaceId}`;
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "23505") return false;
    throw err;
  }
}
