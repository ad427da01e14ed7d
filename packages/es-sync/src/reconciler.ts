/**
 * Compares PostgreSQL and Elasticsearch (every job, or those updated in a time window) and repairs
 * what differs through the normal sync path; plus the backup poller, which re-syncs jobs whose
 * committed version search_sync does not show as indexed after a grace period.
 */
import { jobsBehindIndex, jobVersions, type Logger, type Sql } from "@a4c/shared";
import type { EsSyncMetrics } from "./metrics.ts";
import { diffVersions, idsToRepair, type ReconcileDiff } from "./reconcile-diff.ts";
import type { FailureRouter } from "./retry.ts";
import type { SearchIndex } from "./search-index.ts";
import type { SyncService } from "./sync.ts";

export interface Window {
  from?: Date;
  to?: Date;
}

export class Reconciler {
  constructor(
    private readonly sql: Sql,
    private readonly index: SearchIndex,
    private readonly alias: string,
    private readonly sync: SyncService,
    private readonly router: FailureRouter,
    private readonly metrics: EsSyncMetrics,
    private readonly log: Logger,
    private readonly bulkMax: number,
  ) {}

  async #resync(ids: string[], by: "reconciler" | "poller"): Promise<number> {
    let failed = 0;
    for (let i = 0; i < ids.length; i += this.bulkMax) {
      const result = await this.sync.syncJobs(ids.slice(i, i + this.bulkMax));
      await this.router.route(result.failed.map((failure) => ({ failure, previous: null })));
      failed += result.failed.length;
    }
    this.metrics.repaired.inc({ by }, ids.length - failed);
    return failed;
  }

  /** Diff over `window` (everything when empty), then repair; returns the diff it found. */
  async reconcile(window: Window = {}): Promise<ReconcileDiff & { failed: number }> {
    // Elasticsearch refreshes each second: read it second, so PostgreSQL is never the older view
    // of a job that just changed (that would show as "ahead", which is harmless and not repaired).
    const postgres = await jobVersions(this.sql, window);
    const es = await this.index.versions(this.alias, window);
    const diff = diffVersions(postgres, es);
    const failed = await this.#resync(idsToRepair(diff), "reconciler");
    this.log.info({
      event: "reconcile.done",
      window: { from: window.from?.toISOString(), to: window.to?.toISOString() },
      postgres: diff.postgresCount,
      elasticsearch: diff.elasticsearchCount,
      missing: diff.missing.length,
      stale: diff.stale.length,
      extra: diff.extra.length,
      ahead: diff.ahead.length,
      failed,
    });
    return { ...diff, failed };
  }

  /** One pass of the backup poller. */
  async pollBehind(graceMs: number, limit = 5_000): Promise<number> {
    const ids = await jobsBehindIndex(this.sql, graceMs, limit);
    if (ids.length === 0) return 0;
    this.log.warn({ event: "poller.behind", jobs: ids.length });
    await this.#resync(ids, "poller");
    return ids.length;
  }
}

/** Runs `task` every `ms` (0: never), one run at a time; errors are logged, never thrown. */
export function every(ms: number, name: string, log: Logger, task: () => Promise<unknown>): () => Promise<void> {
  if (ms <= 0) return async () => {};
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch((err) => log.warn({ event: `${name}.failed`, err: String(err) }))
      .finally(() => {
        running = null;
      });
  }, ms);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
