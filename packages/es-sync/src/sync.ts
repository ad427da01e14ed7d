/**
 * The one way a set of jobs reaches Elasticsearch, shared by the CDC consumer, the retry
 * consumers, the DLQ replay, the backup poller, the reconciler and the reindex: read the current
 * rows (one query), bulk them with external versions, confirm every item, record what is indexed.
 */
import { forgetSynced, loadSearchSyncRows, markIndexed, type Sql } from "@a4c/shared";
import { planOps } from "./documents.ts";
import type { EsSyncMetrics } from "./metrics.ts";
import type { SearchIndex } from "./search-index.ts";

export interface SyncFailure {
  id: string;
  version: number | null;
  error: string;
}

export interface SyncResult {
  written: number;
  deleted: number;
  stale: number;
  failed: SyncFailure[];
}

export class SyncService {
  constructor(
    private readonly sql: Sql,
    private readonly index: SearchIndex,
    private readonly alias: string,
    private readonly metrics?: EsSyncMetrics,
  ) {}

  /**
   * Brings `ids` up to date in `target` (the live alias by default). Throws when PostgreSQL or
   * Elasticsearch cannot be reached (the caller retries the whole set); per-document refusals come
   * back in `failed`. Bookkeeping is written only for the live alias: a reindex target is not live.
   */
  async syncJobs(ids: readonly string[], target = this.alias): Promise<SyncResult> {
    const result: SyncResult = { written: 0, deleted: 0, stale: 0, failed: [] };
    if (ids.length === 0) return result;
    const rows = await loadSearchSyncRows(this.sql, ids);
    const ops = planOps(ids, rows);
    const started = performance.now();
    const outcomes = await this.index.bulk(ops, target);
    this.metrics?.bulkSeconds.observe((performance.now() - started) / 1000);
    const indexed: Array<{ id: string; version: number }> = [];
    const deleted: string[] = [];
    ops.forEach((op, i) => {
      const outcome = outcomes[i] ?? { kind: "failed", status: 0, error: "missing outcome" };
      const version = op.kind === "index" ? op.version : null;
      switch (outcome.kind) {
        case "written":
          if (op.kind === "index") indexed.push({ id: op.id, version: op.version });
          else deleted.push(op.id);
          break;
        case "stale":
          // Elasticsearch holds this version or a newer one: as good as written for bookkeeping.
          if (op.kind === "index") indexed.push({ id: op.id, version: op.version });
          else deleted.push(op.id);
          result.stale++;
          break;
        case "failed":
          result.failed.push({ id: op.id, version, error: outcome.error });
          break;
      }
      this.metrics?.documents.inc({ op: op.kind, outcome: outcome.kind });
    });
    result.written = indexed.length + deleted.length - result.stale;
    result.deleted = deleted.length;
    if (target === this.alias) {
      await markIndexed(this.sql, indexed);
      await forgetSynced(this.sql, deleted);
    }
    return result;
  }
}
