/**
 * SQL of running jobs: claiming with a lease, heartbeats, step records, holds (backoff or waiting
 * for a host) and the end of a run. Every call that changes a running job checks that the caller
 * still holds its lease (fencing): a provisioner whose lease was taken over changes nothing.
 * Every change of what a person sees (status, step, note) bumps the job's version.
 */
import type { Sql, TransactionSql } from "./client.ts";

type Db = Sql | TransactionSql;

export interface ClaimedJob {
  id: string;
  type: "WORKSPACE_CREATE" | "WORKSPACE_DELETE" | "IMAGE_BUILD";
  status: "SCHEDULED" | "IN_PROGRESS";
  /** Null for an image build (no user's and no workspace's); set for the workspace jobs. */
  user_id: string;
  workspace_id: string;
  image_id: string | null;
  host_id: string | null;
  attempts: number;
  cancel_requested: boolean;
  note: string | null;
}

/** A claimed job as its run sees it: with the lease owner that fences every change it makes. */
export type RunningJob = ClaimedJob & { owner: string };

/**
 * Claims the oldest runnable job: scheduled, or in progress under an expired lease (its
 * provisioner died or froze), and not held back. A delete waits for the jobs of its workspace that
 * came before it. `FOR UPDATE SKIP LOCKED` lets any number of provisioners claim at once. Only the
 * lease is taken: the job itself changes when work begins (`beginRun`), so a job that only looks
 * for a host again emits no change.
 */
export async function claimJob(
  sql: Sql,
  owner: string,
  leaseMs: number,
  /** False when the caller runs as many builds as it may: only workspace jobs are claimed. */
  builds = true,
): Promise<ClaimedJob | null> {
  return sql.begin(async (tx) => {
    const [next] = await tx<ClaimedJob[]>`
      SELECT j.id::text, j.type, j.status, j.user_id::text, j.workspace_id::text, j.image_id::text, j.host_id::text,
             j.attempts, j.cancel_requested, j.note
        FROM job j
       WHERE j.status IN ('SCHEDULED', 'IN_PROGRESS')
         AND j.type IN ('WORKSPACE_CREATE', 'WORKSPACE_DELETE', 'IMAGE_BUILD')
         AND (${builds} OR j.type <> 'IMAGE_BUILD')
         AND NOT EXISTS (SELECT 1 FROM job_lease l WHERE l.job_id = j.id AND l.expires_at > now())
         -- (created_at, id): a create and a delete applied in one transaction share created_at;
         -- their UUIDv7 ids keep the order they were asked in.
         AND NOT EXISTS (SELECT 1 FROM job o
                          WHERE o.workspace_id = j.workspace_id AND (o.created_at, o.id) < (j.created_at, j.id)
                            AND o.status IN ('SCHEDULED', 'IN_PROGRESS'))
       ORDER BY j.created_at
       LIMIT 1
       FOR UPDATE OF j SKIP LOCKED`;
    if (!next) return null;
    // The lease is taken only if it is still free on its newest row: another claimer may have
    // committed after this statement's snapshot (the job row itself is not changed by a claim).
    const [leased] = await tx`
      INSERT INTO job_lease (job_id, owner, expires_at) VALUES (${next.id}, ${owner}, now() + ${leaseMs} * interval '1 ms')
      ON CONFLICT (job_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, renewed_at = now()
        WHERE job_lease.expires_at <= now()
      RETURNING job_id`;
    return leased ? next : null;
  });
}

/** Work begins (or resumes): IN_PROGRESS, one more attempt. Returns the attempt's number. */
export async function beginRun(db: Db, jobId: string, owner: string): Promise<number> {
  const [row] = await db<{ attempts: number }[]>`
    UPDATE job SET status = 'IN_PROGRESS', attempts = attempts + 1, started_at = coalesce(started_at, now()),
                   note = NULL, version = version + 1, updated_at = now()
     WHERE id = ${jobId} AND status IN ('SCHEDULED', 'IN_PROGRESS') AND ${holds(db, jobId, owner)}
    RETURNING attempts`;
  if (!row) throw new LeaseLostError(jobId);
  return row.attempts;
}

/**
 * A scheduled job that found no host: it stays SCHEDULED, says why (its note and its `place`
 * step's message, changed only when the reason changes), and looks again after `delayMs`.
 */
export async function waitForHost(
  sql: Sql,
  jobId: string,
  owner: string,
  note: string,
  delayMs: number,
): Promise<void> {
  await sql.begin(async (tx) => {
    const [held] = await tx`
      UPDATE job_lease SET owner = NULL, expires_at = now() + ${delayMs} * interval '1 ms'
       WHERE job_id = ${jobId} AND owner = ${owner}
      RETURNING job_id`;
    if (!held) throw new LeaseLostError(jobId);
    const [changed] = await tx`
      UPDATE job SET note = ${note}, step = 'place', version = version + 1, updated_at = now()
       WHERE id = ${jobId} AND status = 'SCHEDULED' AND note IS DISTINCT FROM ${note}
      RETURNING id`;
    if (changed) {
      await tx`UPDATE job_step SET status = 'pending', message = ${note} WHERE job_id = ${jobId} AND name = 'place'`;
    }
  });
}

/** Extends the lease; false when it was lost (taken over), so the holder must stop. */
export async function renewLease(db: Db, jobId: string, owner: string, leaseMs: number): Promise<boolean> {
  const rows = await db`
    UPDATE job_lease SET expires_at = now() + ${leaseMs} * interval '1 ms', renewed_at = now()
     WHERE job_id = ${jobId} AND owner = ${owner}
    RETURNING job_id`;
  return rows.length > 0;
}

/**
 * The fencing condition: `owner` still holds the job's lease. The lease row is locked (FOR SHARE)
 * until the caller's transaction ends, so a takeover cannot slip in between the check and the write.
 */
const holds = (db: Db, jobId: string, owner: string) =>
  db`EXISTS (SELECT 1 FROM job_lease WHERE job_id = ${jobId} AND owner = ${owner} FOR SHARE)`;

export class LeaseLostError extends Error {
  constructor(readonly jobId: string) {
    super(`the lease of job ${jobId} was lost to another provisioner`);
    this.name = "LeaseLostError";
  }
}

export type StepStatus = "pending" | "running" | "done" | "failed" | "compensated" | "skipped";

export interface StepRow {
  name: string;
  position: number;
  status: StepStatus;
  attempts: number;
  started_at: Date | null;
  finished_at: Date | null;
  message: string | null;
}

/** Creates the job's step records once (pending); a resumed job keeps the ones it has. */
export async function ensureSteps(db: Db, jobId: string, names: readonly string[]): Promise<StepRow[]> {
  await db`
    INSERT INTO job_step (job_id, name, position, status)
    SELECT ${jobId}, n, p, 'pending' FROM unnest(${names as string[]}::text[]) WITH ORDINALITY AS s(n, p)
    ON CONFLICT (job_id, name) DO NOTHING`;
  return db<StepRow[]>`
    SELECT name, position, status, attempts, started_at, finished_at, message
      FROM job_step WHERE job_id = ${jobId} ORDER BY position`;
}

/**
 * Records a step's status (and the job's current step), fenced by the lease; bumps the job's
 * version so readers see it. @throws LeaseLostError when the lease is no longer ours.
 */
export async function setStep(
  sql: Sql,
  jobId: string,
  owner: string,
  step: string,
  status: StepStatus,
  message: string | null = null,
): Promise<void> {
  await sql.begin(async (tx) => {
    const [job] = await tx`
      UPDATE job SET step = ${step}, version = version + 1, updated_at = now()
       WHERE id = ${jobId} AND ${holds(tx, jobId, owner)}
      RETURNING id`;
    if (!job) throw new LeaseLostError(jobId);
    await tx`
      UPDATE job_step
         SET status = ${status}, message = ${message},
             attempts = attempts + ${status === "running" ? 1 : 0},
             started_at = CASE WHEN ${status} = 'running' THEN now() ELSE started_at END,
             finished_at = CASE WHEN ${status} IN ('done', 'failed', 'compensated', 'skipped') THEN now() ELSE NULL END
       WHERE job_id = ${jobId} AND name = ${step}`;
  });
}

/** The job's cancel flag, read at each step boundary. */
export async function cancelRequested(db: Db, jobId: string): Promise<boolean> {
  const [row] = await db<{ cancel_requested: boolean }[]>`SELECT cancel_requested FROM job WHERE id = ${jobId}`;
  return row?.cancel_requested ?? false;
}

/**
 * Holds the job back for `delayMs` (a retry's backoff, or waiting for a host) with a note people
 * can read; `status` SCHEDULED when it is waiting to be placed, IN_PROGRESS when it is mid-run.
 */
export async function holdJob(
  sql: Sql,
  jobId: string,
  owner: string,
  delayMs: number,
  note: string,
  status: "SCHEDULED" | "IN_PROGRESS",
): Promise<void> {
  await sql.begin(async (tx) => {
    const [job] = await tx`
      UPDATE job SET status = ${status}, note = ${note}, version = version + 1, updated_at = now()
       WHERE id = ${jobId} AND ${holds(tx, jobId, owner)}
      RETURNING id`;
    if (!job) throw new LeaseLostError(jobId);
    await tx`UPDATE job_lease SET owner = NULL, expires_at = now() + ${delayMs} * interval '1 ms' WHERE job_id = ${jobId}`;
  });
}

export type JobEnd =
  | { status: "COMPLETED" }
  | { status: "FAILED"; code: string; message: string }
  | { status: "CANCELED"; message: string };

/**
 * Ends a run: the job's final status, its workspace's (or its image's: READY when the build
 * completed, else FAILED), the reservation released and the lease dropped, in one transaction
 * fenced by the lease. Returns the host the job was placed on, if any.
 */
export async function finishJob(
  sql: Sql,
  jobId: string,
  owner: string,
  end: JobEnd,
  workspace: { id: string; status: "RUNNING" | "FAILED" | "DELETED"; ofCreate: boolean } | null,
): Promise<string | null> {
  return sql.begin(async (tx) => {
    const code = end.status === "FAILED" ? end.code : end.status === "CANCELED" ? "canceled" : null;
    const message = end.status === "COMPLETED" ? null : end.message;
    const [job] = await tx`
      UPDATE job SET status = ${end.status}, error_code = ${code}, error_message = ${message}, note = NULL,
                     finished_at = now(), version = version + 1, updated_at = now()
       WHERE id = ${jobId} AND ${holds(tx, jobId, owner)}
      RETURNING id, host_id::text`;
    if (!job) throw new LeaseLostError(jobId);
    if (workspace) await endWorkspace(tx, jobId, workspace);
    await tx`
      UPDATE image SET status = ${end.status === "COMPLETED" ? "READY" : "FAILED"}, version = version + 1, updated_at = now()
       WHERE job_id = ${jobId} AND status = 'BUILDING'`;
    await tx`DELETE FROM host_reservation WHERE job_id = ${jobId}`;
    await tx`DELETE FROM job_lease WHERE job_id = ${jobId}`;
    return (job.host_id as string | null) ?? null;
  });
}

/** The workspace's side of a job's end (finishJob). */
async function endWorkspace(
  tx: TransactionSql,
  jobId: string,
  workspace: { id: string; status: "RUNNING" | "FAILED" | "DELETED"; ofCreate: boolean },
): Promise<void> {
  const freeAddress = workspace.status !== "RUNNING";
  // A running workspace keeps the disk it reserved; the others give it back.
  await tx`
      UPDATE workspace
         -- A delete asked for while the create ran keeps the workspace DELETING: its job comes next.
         -- A deleted workspace stays deleted.
         SET status = CASE WHEN status = 'DELETED' THEN 'DELETED'
                           WHEN ${workspace.ofCreate} AND status = 'DELETING' THEN 'DELETING'
                           ELSE ${workspace.status} END,
             disk_bytes = CASE WHEN ${freeAddress} THEN NULL
                               ELSE (SELECT bytes FROM host_reservation WHERE job_id = ${jobId}) END,
             port = CASE WHEN ${freeAddress} THEN NULL ELSE port END,
             hostname = CASE WHEN ${freeAddress} THEN NULL ELSE hostname END,
             container_id = CASE WHEN ${workspace.status} = 'DELETED' THEN NULL ELSE container_id END,
             version = version + 1, updated_at = now()
       WHERE id = ${workspace.id}`;
}
