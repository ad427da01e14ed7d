/**
 * The Elasticsearch side of es-sync behind a small interface: bulk writes with external versions,
 * and a scan of (id, version) pairs for the reconciler.
 */

import type { estypes } from "@elastic/elasticsearch";
import { Client, HttpConnection } from "@elastic/elasticsearch";
import { classifyItem, type ItemOutcome } from "./bulk-result.ts";
import { DELETED_VERSION, type IndexOp } from "./documents.ts";

/** The cluster could not take the request at all (down, overloaded, timeout): retry it as a whole. */
export class SearchUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`elasticsearch unavailable: ${String(cause)}`, { cause });
    this.name = "SearchUnavailableError";
  }
}

export interface SearchIndex {
  /** Writes `ops` to `target` (an alias or index); one outcome per op, in order. */
  bulk(ops: readonly IndexOp[], target: string): Promise<ItemOutcome[]>;
  /** id → version of the documents in `target`, optionally with updatedAt in [from, to). */
  versions(target: string, window?: { from?: Date; to?: Date }): Promise<Map<string, number>>;
  ping(): Promise<boolean>;
}

export function createEsClient(url: string): Client {
  // Bun's undici support is partial; the node:http connection works (ARCHITECTURE §2).
  return new Client({ node: url, Connection: HttpConnection, requestTimeout: 30_000, maxRetries: 0 });
}

export class ElasticsearchIndex implements SearchIndex {
  constructor(readonly client: Client) {}

  async bulk(ops: readonly IndexOp[], target: string): Promise<ItemOutcome[]> {
    if (ops.length === 0) return [];
    const operations: unknown[] = [];
    for (const op of ops) {
      if (op.kind === "index") {
        operations.push(
          { index: { _index: target, _id: op.id, version: op.version, version_type: "external" } },
          op.doc,
        );
      } else {
        operations.push({ delete: { _index: target, _id: op.id, version: DELETED_VERSION, version_type: "external" } });
      }
    }
    let response: estypes.BulkResponse;
    try {
      response = await this.client.bulk({ operations });
    } catch (err) {
      throw new SearchUnavailableError(err);
    }
    return ops.map((op, i) => {
      const item = response.items[i];
      return classifyItem(op.kind, item ? item[op.kind] : undefined);
    });
  }

  async versions(target: string, window: { from?: Date; to?: Date } = {}): Promise<Map<string, number>> {
    const range: Record<string, string> = {};
    if (window.from) range.gte = window.from.toISOString();
    if (window.to) range.lt = window.to.toISOString();
    const query: estypes.QueryDslQueryContainer =
      Object.keys(range).length > 0 ? { range: { updatedAt: range } } : { match_all: {} };
    const out = new Map<string, number>();
    let after: estypes.SortResults | undefined;
    for (;;) {
      const page = await this.client.search<{ version: number }>({
        index: target,
        query,
        size: 5_000,
        sort: [{ id: "asc" }],
        _source: ["version"],
        search_after: after,
        track_total_hits: false,
      });
      for (const hit of page.hits.hits) if (hit._id) out.set(hit._id, hit._source?.version ?? 0);
      const last = page.hits.hits.at(-1);
      if (!last || page.hits.hits.length < 5_000) return out;
      after = last.sort;
    }
  }

  async ping(): Promise<boolean> {
    // HEAD / and GET / answer 405 on the integ-test distribution (no main action); health works.
    return this.client.cluster.health({ timeout: "2s" }).then(
      () => true,
      () => false,
    );
  }
}
