/**
 * SQL of images: applying build requests and schedules (processor), a build's progress and end
 * (provisioner), where images are (placement, transfer, cleanup) and schedule ticks (scheduler).
 */
import { imageTag, scheduleTrigger } from "../domain/images.ts";
import type { Sql, TransactionSql } from "./client.ts";
import { LeaseLostError } from "./job-runs.ts";
import { claimOperations, type OperationClaim } from "./operations.ts";

type Db = Sql | TransactionSql;

export interface NewBuild {
  imageId: string;
  jobId: string;
  repository: string;
  commitSha: string;
  ref: string | null;
  dockerfile: string;
  files: Record<string, string>;
}

/**
 * Claims the operation and, unless the commit has its build already, creates the image (BUILDING)
 * and its IMAGE_BUILD job (SCHEDULED). A request naming a ref moves that ref to its commit.
 * `applied` is always true: a second request for a commit completes, answering the first build.
 */
export async function applyImageBuild(
  tx: TransactionSql,
  c: OperationClaim,
  b: NewBuild & { requestedBy: string },
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number }[]>`
    WITH ${claimOperations(tx, [c])}, im AS (
      INSERT INTO image (id, repository, commit_sha, ref, trigger, tag, dockerfile, files, job_id, requested_by)
      SELECT ${b.imageId}, ${b.repository}, ${b.commitSha}, ${b.ref}, 'request', ${imageTag(b.repository, b.commitSha)},
             ${b.dockerfile}, ${tx.json(b.files)}, ${b.jobId}, ${b.requestedBy}
        FROM op
      ON CONFLICT (repository, commit_sha, trigger) DO NOTHING
      RETURNING id, job_id
    ), jb AS (
      INSERT INTO job (id, type, status, step, user_id, image_id, operation_id)
      SELECT im.job_id, 'IMAGE_BUILD', 'SCHEDULED', 'queued', NULL, im.id, ${c.operationId} FROM im
      RETURNING id
    ), head AS (
      INSERT INTO ref_head (repository, ref, commit_sha, image_id)
      SELECT ${b.repository}, ${b.ref}, ${b.commitSha}, ${b.imageId} FROM op WHERE ${b.ref}::text IS NOT NULL
      ON CONFLICT (repository, ref) DO UPDATE
        SET commit_sha = excluded.commit_sha, image_id = excluded.image_id, seen_at = now()
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed, (SELECT count(*) FROM jb) + (SELECT count(*) FROM head) AS n`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: true };
}

export async function applyScheduleCreate(
  tx: TransactionSql,
  c: OperationClaim,
  s: { scheduleId: string; repository: string; ref: string; cron: string; timezone: string; createdBy: string },
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number }[]>`
    WITH ${claimOperations(tx, [c])}, s AS (
      INSERT INTO schedule (id, repository, ref, cron, timezone, created_by, last_tick_at)
      SELECT ${s.scheduleId}, ${s.repository}, ${s.ref}, ${s.cron}, ${s.timezone}, ${s.createdBy},
             -- Milliseconds: the scheduler compares it as a JavaScript Date (claimTick).
             date_trunc('milliseconds', now()) FROM op
      RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed, (SELECT count(*) FROM s) AS n`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: true };
}

/** `applied` is false when there was no such schedule. */
export async function applyScheduleDelete(
  tx: TransactionSql,
  c: OperationClaim,
  scheduleId: string,
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number; deleted: number }[]>`
    WITH ${claimOperations(tx, [c])}, d AS (
      DELETE FROM schedule WHERE id = ${scheduleId} AND EXISTS (SELECT 1 FROM op) RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed, (SELECT count(*) FROM d)::int AS deleted`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: (row?.deleted ?? 0) > 0 };
}

/** Whether a workspace may run `image`: the base image, or a READY build. */
export type ImageUse = { ok: true } | { ok: false; code: "image_not_found" | "image_not_ready"; message: string };

export async function imageUsable(db: Db, image: string, baseImage: string): Promise<ImageUse> {
  if (image === baseImage) return { ok: true };
  const [row] = await db<{ status: string }[]>`SELECT status FROM image WHERE tag = ${image}`;
  if (!row) {
    return {
      ok: false,
      code: "image_not_found",
      message: `no image ${image}: name a built image (a4c images) or omit it`,
    };
  }
  if (row.status !== "READY") {
    return { ok: false, code: "image_not_ready", message: `the image ${image} is ${row.status}, not READY` };
  }
  return { ok: true };
}

export interface BuildRow {
  id: string;
  repository: string;
  commit_sha: string;
  tag: string;
  status: string;
  dockerfile: string;
  files: Record<string, string>;
  digest: string | null;
}

async function buildWhere(db: Db, where: ReturnType<Db>): Promise<BuildRow | null> {
  const [row] = await db<BuildRow[]>`
    SELECT id::text, repository, commit_sha, tag, status, dockerfile, files, digest FROM image WHERE ${where}`;
  return row ?? null;
}

export const getBuild = (db: Db, imageId: string) => buildWhere(db, db`id = ${imageId}`);

/** The image a workspace runs, if it is one of ours (by tag). */
export const builtImageByTag = (db: Db, tag: string) => buildWhere(db, db`tag = ${tag}`);

/** Appends output lines of a job's step (the build log). */
export async function appendJobLog(db: Db, jobId: string, step: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await db`
    INSERT INTO job_log (job_id, step, line)
    SELECT ${jobId}, ${step}, l FROM unnest(${lines}::text[]) WITH ORDINALITY AS t(l, n) ORDER BY n`;
}

/** The last `n` lines a job's step wrote: what a failed build's message quotes. */
export async function lastLogLines(db: Db, jobId: string, step: string, n: number): Promise<string[]> {
  const rows = await db<{ line: string }[]>`
    SELECT line FROM (SELECT id, line FROM job_log WHERE job_id = ${jobId} AND step = ${step} ORDER BY id DESC LIMIT ${n}) t
     ORDER BY id`;
  return rows.map((r) => r.line);
}

/**
 * A build's result, recorded before the job ends (the job's end makes the image READY), fenced by
 * the run's lease: a build whose lease was taken over (it went on after a stall, while another
 * provisioner built again) records nothing. @throws LeaseLostError then.
 */
export async function recordBuilt(
  db: Db,
  imageId: string,
  built: { digest: string; sizeBytes: number },
  run: { jobId: string; owner: string },
): Promise<void> {
  const rows = await db`
    UPDATE image SET digest = ${built.digest}, size_bytes = ${built.sizeBytes}, built_at = coalesce(built_at, now()),
                     version = version + 1, updated_at = now()
     WHERE id = ${imageId} AND status = 'BUILDING'
       AND EXISTS (SELECT 1 FROM job_lease WHERE job_id = ${run.jobId} AND owner = ${run.owner} FOR SHARE)
    RETURNING id`;
  if (rows.length === 0) throw new LeaseLostError(run.jobId);
}

export async function addImageHost(
  db: Db,
  imageId: string,
  hostId: string,
  how: "built" | "transferred",
): Promise<void> {
  await db`
    INSERT INTO image_host (image_id, host_id, how) VALUES (${imageId}, ${hostId}, ${how})
    ON CONFLICT (image_id, host_id) DO NOTHING`;
}

export async function removeImageHost(db: Db, imageId: string, hostId: string): Promise<void> {
  await db`DELETE FROM image_host WHERE image_id = ${imageId} AND host_id = ${hostId}`;
}

export async function imageHostIds(db: Db, imageId: string): Promise<string[]> {
  const rows = await db<{ host_id: string }[]>`SELECT host_id::text FROM image_host WHERE image_id = ${imageId}`;
  return rows.map((r) => r.host_id);
}

/**
 * Images the cleanup daemon may remove, with the hosts that hold them: READY or FAILED builds older
 * than the retention that no live workspace runs and no unfinished job needs — and REMOVED ones
 * still on a host (one that was unreachable when the image was removed from the others).
 */
export async function expiredImages(
  db: Db,
  retentionHours: number,
): Promise<Array<{ id: string; tag: string; status: string; host_ids: string[] }>> {
  return db<Array<{ id: string; tag: string; status: string; host_ids: string[] }>>`
    SELECT i.id::text, i.tag, i.status,
           coalesce(array_agg(h.host_id::text) FILTER (WHERE h.host_id IS NOT NULL), '{}') AS host_ids
      FROM image i LEFT JOIN image_host h ON h.image_id = i.id
     WHERE (i.status IN ('READY', 'FAILED')
            AND coalesce(i.built_at, i.created_at) < now() - ${retentionHours} * interval '1 hour'
            AND NOT EXISTS (SELECT 1 FROM workspace w WHERE w.image = i.tag AND w.status <> 'DELETED')
            AND NOT EXISTS (SELECT 1 FROM job j WHERE j.image_id = i.id AND j.status IN ('SCHEDULED', 'IN_PROGRESS')))
        OR (i.status = 'REMOVED' AND h.host_id IS NOT NULL)
     GROUP BY i.id, i.tag, i.status`;
}

/**
 * Takes an expired image out of use before it is removed from the hosts: REMOVED first (a
 * workspace create can no longer name it), then a look, in a new statement, for a workspace that
 * named it meanwhile. A create that checked the image commits before this UPDATE (it holds the
 * row FOR SHARE), so that look sees it: the image is then READY again and kept. True when the image
 * may go. Two statements, each committed on its own: the caller passes the pool, not a transaction.
 */
export async function claimImageRemoval(sql: Sql, imageId: string): Promise<boolean> {
  const [taken] = await sql<{ status: string }[]>`
    UPDATE image n SET status = 'REMOVED', version = n.version + 1, updated_at = now()
      FROM image o WHERE n.id = o.id AND n.id = ${imageId} AND n.status IN ('READY', 'FAILED')
    RETURNING o.status`;
  if (!taken) return false;
  const [used] = await sql`
    SELECT 1 FROM image i JOIN workspace w ON w.image = i.tag AND w.status <> 'DELETED' WHERE i.id = ${imageId} LIMIT 1`;
  if (!used) return true;
  await sql`
    UPDATE image SET status = ${taken.status}, version = version + 1, updated_at = now()
     WHERE id = ${imageId} AND status = 'REMOVED'`;
  return false;
}

export interface ScheduleRow {
  id: string;
  repository: string;
  ref: string;
  cron: string;
  timezone: string;
  last_tick_at: Date;
}

export async function listSchedulesDue(db: Db): Promise<ScheduleRow[]> {
  return db<ScheduleRow[]>`SELECT id::text, repository, ref, cron, timezone, last_tick_at FROM schedule ORDER BY id`;
}

/**
 * Claims one tick of a schedule and starts its build, in one transaction: the tick is taken by
 * moving `last_tick_at` forward from the value this scheduler read (compare-and-set), so of any
 * number of schedulers exactly one wins it. The ref resolves to the latest build request seen for
 * it (ref_head); with none, the tick is recorded with that reason and builds nothing.
 * Returns what the tick did, or null when another scheduler had it.
 */
export async function claimTick(
  sql: Sql,
  s: ScheduleRow,
  tick: Date,
  claimedBy: string,
): Promise<{ outcome: string; imageId: string | null; jobId: string | null } | null> {
  return sql.begin(async (tx) => {
    const [won] = await tx`
      UPDATE schedule SET last_tick_at = ${tick}, updated_at = now()
       WHERE id = ${s.id} AND last_tick_at = ${s.last_tick_at} AND last_tick_at < ${tick}
      RETURNING id`;
    if (!won) return null;
    const [head] = await tx<{ commit_sha: string; dockerfile: string; files: Record<string, string> }[]>`
      SELECT r.commit_sha, i.dockerfile, i.files FROM ref_head r JOIN image i ON i.id = r.image_id
       WHERE r.repository = ${s.repository} AND r.ref = ${s.ref}`;
    let outcome: string;
    let imageId: string | null = null;
    let jobId: string | null = null;
    if (!head) {
      outcome = `no build request seen yet for ${s.repository} ref ${s.ref}: nothing to build`;
    } else {
      imageId = Bun.randomUUIDv7();
      jobId = Bun.randomUUIDv7();
      const tag = imageTag(s.repository, head.commit_sha, { at: tick, scheduleId: s.id });
      const trigger = scheduleTrigger(s.id, tick);
      await tx`
        INSERT INTO image (id, repository, commit_sha, ref, trigger, tag, dockerfile, files, job_id, requested_by, schedule_id)
        VALUES (${imageId}, ${s.repository}, ${head.commit_sha}, ${s.ref}, ${trigger},
                ${tag}, ${head.dockerfile}, ${tx.json(head.files)}, ${jobId}, ${`schedule:${s.id}`}, ${s.id})`;
      await tx`
        INSERT INTO job (id, type, status, step, user_id, image_id, operation_id)
        VALUES (${jobId}, 'IMAGE_BUILD', 'SCHEDULED', 'queued', NULL, ${imageId}, ${trigger})`;
      outcome = `build of ${s.ref} at ${head.commit_sha.slice(0, 12)} started: ${tag}`;
    }
    await tx`
      INSERT INTO schedule_tick (schedule_id, tick_at, image_id, outcome, claimed_by)
      VALUES (${s.id}, ${tick}, ${imageId}, ${outcome}, ${claimedBy})`;
    await tx`UPDATE schedule SET last_outcome = ${outcome}, version = version + 1 WHERE id = ${s.id}`;
    return { outcome, imageId, jobId };
  });
}
