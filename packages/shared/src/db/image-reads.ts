/**
 * SQL of the image reads (read-api): images with the hosts that hold them, build schedules with
 * their latest ticks, and a job's output lines. Straight from PostgreSQL, never cached: `image`,
 * `image_host`, `schedule` and `job_log` are in no Debezium publication, so no change event could
 * invalidate a cached copy (a build's progress is its job's, which is cached and invalidated).
 */
import type { Sql, TransactionSql } from "./client.ts";

type Db = Sql | TransactionSql;

export const IMAGE_STATUSES = ["BUILDING", "READY", "FAILED", "REMOVED"] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

export interface ImageRow {
  id: string;
  repository: string;
  commit_sha: string;
  ref: string | null;
  tag: string;
  status: ImageStatus;
  digest: string | null;
  /** bigint as text: exact whatever its size. */
  size_bytes: string | null;
  hosts: Array<{ id: string; name: string; how: "built" | "transferred" }>;
  job_id: string;
  schedule_id: string | null;
  created_at: Date;
  built_at: Date | null;
  /** created_at at full (microsecond) precision, for keyset cursors; JS dates keep only ms. */
  created_at_exact: string;
}

// The hosts of one image: few, so a correlated aggregate per row is cheap (primary key lookup).
const IMAGE_COLUMNS = `
  i.id::text, i.repository, i.commit_sha, i.ref, i.tag, i.status, i.digest, i.size_bytes::text,
  (SELECT coalesce(json_agg(json_build_object('id', h.id, 'name', h.name, 'how', ih.how) ORDER BY h.name), '[]'::json)
     FROM image_host ih JOIN hosts h ON h.id = ih.host_id WHERE ih.image_id = i.id) AS hosts,
  i.job_id::text, i.schedule_id::text, i.created_at, i.built_at,
  to_char(i.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_exact`;

export async function getImage(db: Db, id: string): Promise<ImageRow | null> {
  const rows = await db<ImageRow[]>`SELECT ${db.unsafe(IMAGE_COLUMNS)} FROM image i WHERE i.id = ${id}`;
  return rows[0] ?? null;
}

export interface ImageFilter {
  repository?: string | undefined;
  status?: ImageStatus | undefined;
}

/**
 * Images newest first (index image_created_at), optionally of one repository and in one status,
 * after the keyset `after` (the last item of the previous page).
 */
export async function listImages(
  db: Db,
  filter: ImageFilter,
  limit: number,
  after?: { createdAt: string; id: string },
): Promise<ImageRow[]> {
  return db<ImageRow[]>`
    SELECT ${db.unsafe(IMAGE_COLUMNS)} FROM image i
     WHERE ${filter.repository === undefined ? db`TRUE` : db`i.repository = ${filter.repository}`}
       AND ${filter.status === undefined ? db`TRUE` : db`i.status = ${filter.status}`}
       -- ::text first: postgres.js would send a timestamptz parameter through a JS Date (ms only).
       AND ${after ? db`(i.created_at, i.id) < (${after.createdAt}::text::timestamptz, ${after.id}::uuid)` : db`TRUE`}
     ORDER BY i.created_at DESC, i.id DESC
     LIMIT ${limit}`;
}

export interface ScheduleViewRow {
  id: string;
  repository: string;
  ref: string;
  cron: string;
  timezone: string;
  last_tick_at: Date;
  last_outcome: string | null;
  created_at: Date;
  /** The latest ticks, newest first; their instants as ISO strings (json_build_object). */
  recent_ticks: Array<{ tickAt: string; imageId: string | null; outcome: string }>;
}

/** Every schedule, newest first, each with its last `ticks` ticks (schedule_tick's primary key). */
export async function listSchedules(db: Db, ticks: number): Promise<ScheduleViewRow[]> {
  return db<ScheduleViewRow[]>`
    SELECT s.id::text, s.repository, s.ref, s.cron, s.timezone, s.last_tick_at, s.last_outcome, s.created_at,
           (SELECT coalesce(json_agg(json_build_object('tickAt', t.tick_at, 'imageId', t.image_id, 'outcome', t.outcome)
                                     ORDER BY t.tick_at DESC), '[]'::json)
              FROM (SELECT tick_at, image_id, outcome FROM schedule_tick
                     WHERE schedule_id = s.id ORDER BY tick_at DESC LIMIT ${ticks}) t) AS recent_ticks
      FROM schedule s
     ORDER BY s.created_at DESC, s.id DESC`;
}

export interface JobLogRow {
  /** bigserial as text: exact whatever its size. */
  id: string;
  step: string;
  line: string;
  created_at: Date;
}

/** Up to `limit` of a job's output lines after line `afterId` (0: from the start), in order (index job_log_job). */
export async function readJobLog(db: Db, jobId: string, afterId: string, limit: number): Promise<JobLogRow[]> {
  return db<JobLogRow[]>`
    SELECT l.id::text, l.step, l.line, l.created_at FROM job_log l
     WHERE l.job_id = ${jobId} AND l.id > ${afterId}::bigint
     -- The column, not the text the select list makes of it ("10" < "9").
     ORDER BY l.id
     LIMIT ${limit}`;
}
