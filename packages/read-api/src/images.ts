/**
 * Images, build schedules and build logs, straight from PostgreSQL and never cached: `image`,
 * `image_host`, `schedule` and `job_log` are not in the change-data publication (Debezium A), so
 * nothing would ever invalidate a cached copy. Images are shared: every user may read them (to pick
 * one for a workspace), as may the admin and CI tokens.
 */
import {
  decodeCursor,
  encodeCursor,
  getImage,
  type ImageFilter,
  type ImageRow,
  listImages,
  listSchedules,
  readJobLog,
  type Sql,
} from "@a4c/shared";

/** How many of a schedule's latest ticks its view carries. */
export const RECENT_TICKS = 5;
/** Lines of a job's log per page: by default, and at most. */
export const DEFAULT_LOG_LINES = 500;
export const MAX_LOG_LINES = 5_000;
/** `?after=`: a line id (bigserial, so at most 18 digits here), or 0 for the start. */
export const LINE_ID_PATTERN = "^(0|[1-9][0-9]{0,17})$";

function imageView(i: ImageRow) {
  return {
    id: i.id,
    repository: i.repository,
    commitSha: i.commit_sha,
    ref: i.ref,
    tag: i.tag,
    status: i.status,
    digest: i.digest,
    sizeBytes: i.size_bytes === null ? null : Number(i.size_bytes),
    hosts: i.hosts,
    jobId: i.job_id,
    scheduleId: i.schedule_id,
    createdAt: i.created_at,
    builtAt: i.built_at,
  };
}

export class ImageViews {
  constructor(private readonly sql: Sql) {}

  async image(id: string) {
    const row = await getImage(this.sql, id);
    return row ? imageView(row) : null;
  }

  /** One page, newest first; `cursor` is the previous page's (a 400 problem if it is not one). */
  async images(filter: ImageFilter, limit: number, cursor?: string) {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows = await listImages(this.sql, filter, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(imageView),
      cursor: rows.length > limit && last ? encodeCursor(last.created_at_exact, last.id) : null,
    };
  }

  async schedules() {
    const rows = await listSchedules(this.sql, RECENT_TICKS);
    return {
      items: rows.map((s) => ({
        id: s.id,
        repository: s.repository,
        ref: s.ref,
        cron: s.cron,
        timezone: s.timezone,
        lastTickAt: s.last_tick_at,
        lastOutcome: s.last_outcome,
        createdAt: s.created_at,
        // json_build_object writes instants with an offset (+00:00): the same Z form as every other instant.
        recentTicks: s.recent_ticks.map((t) => ({
          tickAt: new Date(t.tickAt).toISOString(),
          imageId: t.imageId,
          outcome: t.outcome,
        })),
      })),
    };
  }

  /**
   * Up to `limit` lines of a job's output after line `after`. `next` is the last line's id when
   * more lines follow it now, null when this page reached the end of what is written so far (a
   * client following a running build asks again with after = the last line's id).
   */
  async jobLog(jobId: string, after: string, limit: number) {
    const rows = await readJobLog(this.sql, jobId, after, limit + 1);
    const page = rows.slice(0, limit);
    return {
      jobId,
      lines: page.map((l) => ({ id: l.id, step: l.step, line: l.line, at: l.created_at })),
      next: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
    };
  }
}
