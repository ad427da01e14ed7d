/**
 * Zero-downtime reindex: build a new index beside the live one, load it from PostgreSQL, catch it
 * up from Kafka, move the alias atomically, then catch up once more.
 *
 *   t0 = end offsets of the CDC topic        (everything after t0 is replayed into the new index)
 *   bulk-load every job from PostgreSQL      (the load sees at least everything committed before t0)
 *   catch up [t0, t1) into the new index     (changes during the load)
 *   swap the alias                           (readers and the live consumers move to the new index)
 *   catch up [t1, t2) into the new index     (changes the live consumers wrote to the OLD index
 *                                             between t1 and the swap)
 *
 * Every write is versioned and built from the current row, so overlaps between the load, the
 * catch-ups and the live consumers are harmless. The integ-test Elasticsearch has no _reindex, and
 * PostgreSQL is the truth anyway: the load reads PostgreSQL through the client.
 */
import {
  createJobsIndex,
  type Logger,
  newJobsIndexName,
  pageSearchSyncRows,
  pointJobsAlias,
  type SearchSyncRow,
  type Sql,
} from "@a4c/shared";
import type { Client } from "@elastic/elasticsearch";
import type { Kafka } from "kafkajs";
import { planOps } from "./documents.ts";
import { newestPerJob, parseJobChange } from "./events.ts";
import { readRange } from "./read-range.ts";
import type { FailureRouter } from "./retry.ts";
import type { SearchIndex } from "./search-index.ts";
import type { SyncFailure, SyncService } from "./sync.ts";
import { endOffsets } from "./topics.ts";

export interface ReindexResult {
  index: string;
  previous: string[];
  loaded: number;
  caughtUp: number;
  failed: number;
  seconds: number;
}

export type ReindexPhase = "load" | "catch-up" | "swap" | "catch-up-after-swap";

export interface ReindexProgress {
  index: string;
  phase: ReindexPhase;
  /** Jobs loaded from PostgreSQL so far, of about `total` (counted when the load began). */
  loaded: number;
  total: number;
  caughtUp: number;
}

/** How often a running reindex logs its progress. */
const PROGRESS_EVERY_MS = 5_000;

export async function reindex(deps: {
  sql: Sql;
  client: Client;
  index: SearchIndex;
  kafka: Kafka;
  sync: SyncService;
  router: FailureRouter;
  topic: string;
  groupId: string;
  alias: string;
  log: Logger;
  /** Delete the indices the alias pointed at before (default true). */
  dropPrevious?: boolean;
  pageSize?: number;
  /** The refresh_interval the new index gets once loaded (es-sync's ES_SYNC_REFRESH_INTERVAL). */
  refreshInterval?: string;
  onProgress?: (p: ReindexProgress) => void;
}): Promise<ReindexResult> {
  const { sql, client, index, kafka, sync, topic, alias, log } = deps;
  const started = performance.now();
  const target = newJobsIndexName().replace(/^jobs-/, `${alias}-`);
  await createJobsIndex(client, target);
  // Bulk loading is faster without refreshes; restored before the swap.
  await client.indices.putSettings({ index: target, settings: { refresh_interval: "-1" } });
  const [{ total } = { total: 0 }] = await sql<{ total: number }[]>`SELECT count(*)::int AS total FROM job`;
  const progress: ReindexProgress = { index: target, phase: "load", loaded: 0, total, caughtUp: 0 };
  const report = () => deps.onProgress?.({ ...progress });
  let lastLog = performance.now();
  const phase = (p: ReindexPhase) => {
    progress.phase = p;
    report();
  };
  log.info({ event: "reindex.start", index: target, alias, total });
  report();
  const failures: SyncFailure[] = [];
  const t0 = await endOffsets(kafka, topic);

  let loaded = 0;
  let after: string | null = null;
  for (;;) {
    const rows: SearchSyncRow[] = await pageSearchSyncRows(sql, after, deps.pageSize ?? 2_000);
    if (rows.length === 0) break;
    const ops = planOps(
      rows.map((r) => r.id),
      rows,
    );
    const outcomes = await index.bulk(ops, target);
    outcomes.forEach((o, i) => {
      const op = ops[i];
      if (o.kind === "failed" && op)
        failures.push({ id: op.id, version: op.kind === "index" ? op.version : null, error: o.error });
    });
    loaded += rows.length;
    after = rows.at(-1)?.id ?? null;
    progress.loaded = loaded;
    report();
    if (performance.now() - lastLog >= PROGRESS_EVERY_MS) {
      lastLog = performance.now();
      const perSec = Math.round(loaded / ((lastLog - started) / 1000));
      log.info({ event: "reindex.progress", index: target, loaded, total, perSec });
    }
  }
  log.info({ event: "reindex.loaded", index: target, jobs: loaded });

  const catchUp = async (from: Map<number, bigint>): Promise<{ to: Map<number, bigint>; jobs: number }> => {
    const to = await endOffsets(kafka, topic);
    let jobs = 0;
    await readRange(
      kafka,
      topic,
      from,
      to,
      async (messages) => {
        const changes = messages.flatMap((m) => {
          try {
            const c = parseJobChange(m.value, m.key);
            return c ? [c] : [];
          } catch {
            return []; // the live consumer routes unreadable events to the DLQ
          }
        });
        const ids = newestPerJob(changes).map((c) => c.id);
        const result = await sync.syncJobs(ids, target);
        failures.push(...result.failed);
        jobs += ids.length;
        progress.caughtUp += ids.length;
        report();
      },
      { groupPrefix: deps.groupId, timeoutMs: 300_000 },
    );
    return { to, jobs };
  };

  phase("catch-up");
  const first = await catchUp(t0);
  phase("swap");
  await client.indices.putSettings({ index: target, settings: { refresh_interval: deps.refreshInterval ?? "1s" } });
  await client.indices.refresh({ index: target });
  const previous = await pointJobsAlias(client, target, alias);
  log.info({ event: "reindex.swapped", index: target, previous });
  phase("catch-up-after-swap");
  const second = await catchUp(first.to);
  // Failures go through the retries like any other; they now target the alias, i.e. the new index.
  await deps.router.route(failures.map((failure) => ({ failure, previous: null })));
  if (deps.dropPrevious ?? true) {
    for (const old of previous) await client.indices.delete({ index: old }).catch(() => {});
  }
  const result: ReindexResult = {
    index: target,
    previous,
    loaded,
    caughtUp: first.jobs + second.jobs,
    failed: failures.length,
    seconds: Math.round(performance.now() - started) / 1000,
  };
  log.info({ event: "reindex.done", ...result });
  return result;
}

export interface ReindexStatus {
  state: "idle" | "running" | "done" | "failed";
  startedAt: string | null;
  finishedAt: string | null;
  progress: ReindexProgress | null;
  result: ReindexResult | null;
  error: string | null;
}

/**
 * What GET /reindex says of a failed run, in our words: which system failed and its code; the
 * driver's own text stays in the log (event `reindex.failed`).
 */
export function describeFailure(err: unknown): string {
  const e = err as { code?: unknown; meta?: { statusCode?: unknown }; name?: unknown };
  if (typeof e?.meta?.statusCode === "number") {
    return `Elasticsearch answered ${e.meta.statusCode}; es-sync's log has the details (event reindex.failed)`;
  }
  if (typeof e?.name === "string" && /^Kafka|^KafkaJS/.test(e.name)) {
    return "Kafka refused or dropped a request; es-sync's log has the details (event reindex.failed)";
  }
  if (typeof e?.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) {
    return `PostgreSQL refused a query (SQLSTATE ${e.code}); es-sync's log has the details (event reindex.failed)`;
  }
  return "the reindex failed unexpectedly; es-sync's log has the details (event reindex.failed)";
}

/**
 * Runs one reindex at a time in the background (a million jobs take minutes, longer than an HTTP
 * request should wait) and keeps its state for GET /reindex: running with progress, then done
 * with the result or failed with the error. A failed or interrupted run leaves the alias where it
 * was; its half-built index is never read and the next run builds a new one.
 */
export class ReindexRunner {
  #status: ReindexStatus = {
    state: "idle",
    startedAt: null,
    finishedAt: null,
    progress: null,
    result: null,
    error: null,
  };
  #running: Promise<void> | null = null;

  constructor(
    private readonly run: (onProgress: (p: ReindexProgress) => void) => Promise<ReindexResult>,
    private readonly log: Logger,
  ) {}

  get status(): ReindexStatus {
    return { ...this.#status, progress: this.#status.progress && { ...this.#status.progress } };
  }

  /** Starts a run unless one is running; false when one already was. */
  start(): boolean {
    if (this.#running) return false;
    this.#status = {
      state: "running",
      startedAt: new Date().toISOString(),
      finishedAt: null,
      progress: null,
      result: null,
      error: null,
    };
    this.#running = this.run((p) => {
      this.#status.progress = p;
    })
      .then((result) => {
        this.#status = { ...this.#status, state: "done", result, finishedAt: new Date().toISOString() };
      })
      .catch((err: unknown) => {
        this.log.error({ event: "reindex.failed", err });
        this.#status = {
          ...this.#status,
          state: "failed",
          error: describeFailure(err),
          finishedAt: new Date().toISOString(),
        };
      })
      .finally(() => {
        this.#running = null;
      });
    return true;
  }

  /** Resolves when no run is in progress (tests and the CLI). */
  async idle(): Promise<void> {
    await this.#running;
  }
}
