/**
 * Debezium change events of the `job` table as es-sync needs them, and the per-batch reduction to
 * one entry per job. The event only says "job X changed, at version V, at LSN L": the document is
 * always built from the job's current row, so the event's images matter for ordering only.
 */

/** One change of one job, reduced to what ordering needs. */
export interface JobChange {
  id: string;
  /** The row's version after the change; null for a delete (the before-image carries only the key). */
  version: number | null;
  deleted: boolean;
  lsn: number;
  /** When the change was committed in PostgreSQL (source.ts_ms), for the projection-lag metric. */
  committedAtMs: number | null;
}

interface RawEvent {
  op?: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  source?: { lsn?: number; ts_ms?: number };
}

/**
 * Parses one Kafka record of the job topic. Null values (tombstones, if Debezium is configured to
 * send them) and heartbeats carry nothing to index: null. Anything else that does not look like a
 * job change throws, so it is routed like a failure instead of being dropped silently.
 */
export function parseJobChange(value: Buffer | string | null, key?: Buffer | string | null): JobChange | null {
  if (value === null || value.length === 0) return null;
  const event = JSON.parse(value.toString()) as RawEvent;
  const row = event.after ?? event.before;
  const keyId = key ? (JSON.parse(key.toString()) as { id?: unknown }).id : undefined;
  const id = typeof row?.id === "string" ? row.id : typeof keyId === "string" ? keyId : null;
  if (!id || !event.op || !"crud".includes(event.op)) throw new Error(`not a job change event (op=${event.op})`);
  const deleted = event.op === "d";
  const v = deleted ? null : event.after?.version;
  return {
    id,
    version: typeof v === "number" ? v : typeof v === "string" ? Number(v) : null,
    deleted,
    lsn: Number(event.source?.lsn ?? 0),
    committedAtMs: typeof event.source?.ts_ms === "number" ? event.source.ts_ms : null,
  };
}

/** A delete ends a job for good (ids are never reused): it outranks every version. */
function rank(c: JobChange): number {
  return c.deleted ? Number.POSITIVE_INFINITY : (c.version ?? 0);
}

/**
 * Keeps the newest change of each job: highest row version, a delete above all, then highest LSN
 * (equal versions happen when a row is rewritten without a bump, or the same event is redelivered).
 */
export function newestPerJob(changes: readonly JobChange[]): JobChange[] {
  const newest = new Map<string, JobChange>();
  for (const c of changes) {
    const seen = newest.get(c.id);
    if (!seen || rank(c) > rank(seen) || (rank(c) === rank(seen) && c.lsn >= seen.lsn)) newest.set(c.id, c);
  }
  return [...newest.values()];
}
