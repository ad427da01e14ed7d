/**
 * SQL of the search projection (es-sync): the one read that builds a batch of documents, the
 * bookkeeping of what is indexed (table search_sync, outside every Debezium publication), and the
 * scans of the backup poller, the reconciler and the reindex.
 */
import type { Sql, TransactionSql } from "./client.ts";

type Db = Sql | TransactionSql;

/**
 * A job joined with its workspace, owner and (for a build) image: everything one search document
 * needs. The image's columns used here (repository, tag) never change after its job is created,
 * in the same transaction, so the job's own change events are enough to keep documents right
 * although `image` is in no publication.
 */
export interface SearchSyncRow {
  id: string;
  type: string;
  status: string;
  step: string | null;
  /** null for an image build: it belongs to no user. */
  user_id: string | null;
  owner_name: string | null;
  owner_email: string | null;
  workspace_id: string | null;
  project_name: string | null;
  /** The image the workspace runs, or the tag an image build makes. */
  image: string | null;
  /** The repository an image build builds; null for other jobs. */
  repository: string | null;
  operation_id: string | null;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  host_id: string | null;
  host_name: string | null;
  /** bigint as text: exact whatever its size; es-sync converts it. */
  version: string;
}

const SYNC_COLUMNS = `
  j.id::text, j.type, j.status, j.step, j.user_id::text, u.name AS owner_name, u.email AS owner_email,
  j.workspace_id::text, w.project_name, coalesce(w.image, i.tag) AS image, i.repository,
  j.operation_id, j.attempts, j.error_code, j.error_message,
  j.created_at, j.updated_at, j.started_at, j.finished_at, j.version::text,
  j.host_id::text, (SELECT h.name FROM hosts h WHERE h.id = j.host_id) AS host_name`;

/** The current rows of `ids` (absent ids were deleted), in one query per batch. */
export async function loadSearchSyncRows(db: Db, ids: readonly string[]): Promise<SearchSyncRow[]> {
  if (ids.length === 0) return [];
  return db.unsafe<SearchSyncRow[]>(
    `SELECT ${SYNC_COLUMNS}
       FROM job j
       LEFT JOIN users u ON u.id = j.user_id
       LEFT JOIN workspace w ON w.id = j.workspace_id
       LEFT JOIN image i ON i.id = j.image_id
      WHERE j.id = ANY($1::uuid[])`,
    [ids as string[]],
  );
}

/** One page of every job in id order, for a bulk load (reindex); `after` is the last id seen. */
export async function pageSearchSyncRows(db: Db, after: string | null, limit: number): Promise<SearchSyncRow[]> {
  return db.unsafe<SearchSyncRow[]>(
    `SELECT ${SYNC_COLUMNS}
       FROM job j
       LEFT JOIN users u ON u.id = j.user_id
       LEFT JOIN workspace w ON w.id = j.workspace_id
       LEFT JOIN image i ON i.id = j.image_id
      WHERE ($1::uuid IS NULL OR j.id > $1::uuid)
      ORDER BY j.id
      LIMIT $2`,
    [after, limit],
  );
}

/** Records versions confirmed in Elasticsearch; never moves a job's indexed version back. */
export async function markIndexed(db: Db, items: ReadonlyArray<{ id: string; version: number }>): Promise<void> {
  if (items.length === 0) return;
  await db`
    INSERT INTO search_sync (job_id, indexed_version, indexed_at)
    SELECT id, version, now()
      FROM unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => String(i.version))}::bigint[]) AS t(id, version)
    ON CONFLICT (job_id) DO UPDATE
      SET indexed_version = GREATEST(search_sync.indexed_version, EXCLUDED.indexed_version),
          indexed_at = now(),
          failed_version = NULL, last_error = NULL, failed_at = NULL
      WHERE search_sync.indexed_version IS NULL OR search_sync.indexed_version <= EXCLUDED.indexed_version`;
}

/** A job's version gave up (it is in the DLQ): the poller leaves it alone until it changes. */
export async function markSyncFailed(db: Db, id: string, version: number | null, error: string): Promise<void> {
  await db`
    INSERT INTO search_sync (job_id, failed_version, last_error, failed_at)
    VALUES (${id}, ${version === null ? null : String(version)}, ${error.slice(0, 2000)}, now())
    ON CONFLICT (job_id) DO UPDATE
      SET failed_version = EXCLUDED.failed_version, last_error = EXCLUDED.last_error, failed_at = now()`;
}

/** Deleted jobs need no bookkeeping. */
export async function forgetSynced(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db`DELETE FROM search_sync WHERE job_id = ANY(${ids as string[]}::uuid[])`;
}

/**
 * Jobs whose committed version is not indexed although they changed more than `graceMs` ago
 * (an event lost or stuck somewhere), excluding versions that already went to the DLQ.
 */
export async function jobsBehindIndex(db: Db, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db<{ id: string }[]>`
    SELECT j.id::text
      FROM job j
      LEFT JOIN search_sync s ON s.job_id = j.id
     WHERE j.updated_at < now() - make_interval(secs => ${graceMs / 1000})
       AND (s.indexed_version IS NULL OR s.indexed_version < j.version)
       AND (s.failed_version IS NULL OR s.failed_version <> j.version)
     ORDER BY j.updated_at
     LIMIT ${limit}`;
  return rows.map((r) => r.id);
}

/** Every job's version, optionally only those updated in [from, to): the reconciler's truth. */
export async function jobVersions(db: Db, window: { from?: Date; to?: Date } = {}): Promise<Map<string, number>> {
  const rows = await db<{ id: string; version: string }[]>`
    SELECT id::text, version::text FROM job
     WHERE (${window.from ?? null}::timestamptz IS NULL OR updated_at >= ${window.from ?? null}::timestamptz)
       AND (${window.to ?? null}::timestamptz IS NULL OR updated_at < ${window.to ?? null}::timestamptz)`;
  return new Map(rows.map((r) => [r.id, Number(r.version)]));
}

/** Which of `ids` still exist (the reconciler checks ES-only ids before deleting them). */
export async function existingJobIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db<{ id: string }[]>`SELECT id::text FROM job WHERE id = ANY(${ids as string[]}::uuid[])`;
  return new Set(rows.map((r) => r.id));
}
