/**
 * es-sync's repair paths: the reconciler restores documents deleted behind its back, the backup
 * poller re-syncs a job whose version search_sync does not show as indexed, a document the mapping
 * refuses goes through the retry topics to the DLQ and a replay after the fix indexes it, and a
 * reindex under writes swaps the alias to a complete new index.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { metricValue, operator, operatorHeaders } from "../helpers/ops.ts";
import {
  getDoc,
  insertJobs,
  owner,
  post,
  reindexAndWait,
  type SearchEnv,
  startSearchEnv,
  until,
  versionsBoth,
} from "../helpers/search.ts";

let env: SearchEnv;
let svc: ServiceProcess;

beforeAll(async () => {
  env = await startSearchEnv("essyncrepair", {
    env: { ES_SYNC_POLL_INTERVAL_MS: "1000", ES_SYNC_POLL_GRACE_MS: "3000", ES_SYNC_WATCH_INTERVAL_MS: "500" },
  });
  svc = await env.esSync(1);
  await svc.start(90_000);
  // A delete made behind es-sync's back (internal versioning) leaves a tombstone one version above
  // the row's, which refuses the repair at the row's version until Elasticsearch forgets it
  // (index.gc_deletes, 60 s by default). This test index forgets at the next refresh.
  await env.es.indices.putSettings({ index: env.alias, settings: { "index.gc_deletes": "0s" } });
}, 400_000);

/** Deletes documents the way an operator would by hand, and waits until their tombstones are gone. */
async function deleteBehindItsBack(ids: string[]): Promise<void> {
  for (const id of ids) await env.es.delete({ index: env.alias, id, refresh: true });
  // Tombstones are pruned at a refresh once older than gc_deletes, measured on Elasticsearch's
  // cached clock, which ticks every 200 ms (thread_pool.estimated_time_interval).
  await Bun.sleep(500);
  await env.es.indices.refresh({ index: env.alias });
}

afterAll(async () => {
  await env?.stop();
}, 120_000);

const indexedAt = (id: string, version: number) => async () =>
  (await getDoc(env.es, env.alias, id))?.version === version;

describe("es-sync repairs", () => {
  test("documents deleted behind its back → the reconciler restores them", async () => {
    const o = await owner(env.sql);
    const ids = await insertJobs(env.sql, o, 10);
    await until("jobs indexed", indexedAt(ids[9] ?? "", 1));
    await until(
      "all jobs indexed",
      async () => (await env.es.count({ index: env.alias, query: { terms: { id: ids } } })).count === 10,
    );
    const victims = ids.slice(0, 3);
    // Behind es-sync's back: plain deletes, no event anywhere.
    await deleteBehindItsBack(victims);
    const report = await post(svc, "/reconcile");
    expect((report.missing as string[]).sort()).toEqual([...victims].sort());
    expect(report.failed).toBe(0);
    await env.es.indices.refresh({ index: env.alias });
    for (const id of victims) expect((await getDoc(env.es, env.alias, id))?.version).toBe(1);
    const again = await post(
      svc,
      `/reconcile?from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`,
    );
    expect([again.missing, again.stale, again.extra]).toEqual([[], [], []]);
  }, 120_000);

  test("a version search_sync does not show as indexed → the backup poller re-syncs it", async () => {
    const o = await owner(env.sql);
    const [id] = await insertJobs(env.sql, o, 1);
    await until("job indexed", indexedAt(id ?? "", 1));
    // As if the event were lost: the document and the bookkeeping forget it.
    await deleteBehindItsBack([id ?? ""]);
    await env.sql`UPDATE search_sync SET indexed_version = 0 WHERE job_id = ${id ?? ""}`;
    await until("the poller to restore it", indexedAt(id ?? "", 1), 30_000);
  }, 60_000);

  test("a document the mapping refuses → retries → DLQ; a replay after the fix indexes it", async () => {
    // A keyword longer than Lucene's 32766-byte term limit: PostgreSQL takes it, Elasticsearch
    // refuses the document. It lives in the workspace, which Debezium B does not capture, so the
    // fix below emits no job event: only the replay can index the job.
    const o = await owner(env.sql, "x".repeat(40_000));
    const [bad] = await insertJobs(env.sql, o, 1);
    const dlq = async () =>
      ((await operator(svc, "/dlq")).body as { items: Array<{ jobId: string; attempts: number }> }).items;
    await until("the job in the DLQ", async () => (await dlq()).some((e) => e.jobId === bad), 60_000);
    const entry = (await dlq()).find((e) => e.jobId === bad);
    expect(entry?.attempts).toBe(4);
    expect(await getDoc(env.es, env.alias, bad ?? "")).toBeNull();
    const [noted] = await env.sql<{ failed_version: string }[]>`
      SELECT failed_version::text FROM search_sync WHERE job_id = ${bad ?? ""}`;
    expect(noted?.failed_version).toBe("1");
    // The gauge the DLQ alert reads counts what the listing shows; nothing waits in the topics.
    const depth = () => metricValue(svc, "a4c_es_sync_dlq_messages");
    await until("the DLQ gauge to count the entry", async () => (await depth()) === (await dlq()).length, 10_000);
    expect(await depth()).toBeGreaterThanOrEqual(1);
    await until(
      "no lag in es-sync's topics",
      async () => (await metricValue(svc, "a4c_es_sync_consumer_lag")) === 0,
      10_000,
    );
    await env.sql`UPDATE workspace SET image = 'a4c/base:fixed' WHERE id = ${o.workspaceId}`;
    const replay = await post(svc, "/dlq/replay");
    expect(replay.failedAgain).toBe(0);
    expect((await getDoc(env.es, env.alias, bad ?? ""))?.source).toMatchObject({ image: "a4c/base:fixed", version: 1 });
    expect((await dlq()).filter((e) => e.jobId === bad)).toEqual([]);
    await until("the DLQ gauge to drop with the replay", async () => (await depth()) === (await dlq()).length, 10_000);
  }, 120_000);

  test("a reindex under writes swaps the alias to a complete new index", async () => {
    const o = await owner(env.sql);
    await insertJobs(env.sql, o, 200);
    const [before] = Object.keys(await env.es.indices.getAlias({ name: env.alias }));
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await insertJobs(env.sql, o, 5);
        await env.sql`UPDATE job SET version = version + 1, updated_at = now()
                      WHERE id IN (SELECT id FROM job ORDER BY random() LIMIT 5)`;
        await Bun.sleep(50);
      }
    })();
    // It runs in the background: GET /reindex shows its phase, and a second run is refused meanwhile.
    const phases = new Set<string>();
    let refused = null as { status: number; type: string | null } | null;
    const result = await reindexAndWait(svc, 120_000, async (status) => {
      const p = status.progress as { phase: string; total: number } | null;
      if (status.state === "running" && p) phases.add(p.phase);
      if (status.state === "running" && !refused) {
        const again = await fetch(`${svc.url}/reindex`, { method: "POST", headers: operatorHeaders(svc) });
        refused = { status: again.status, type: again.headers.get("content-type") };
      }
    });
    expect(refused).toEqual({ status: 409, type: "application/problem+json" });
    expect(phases.size).toBeGreaterThan(0);
    writing = false;
    await writer;
    const after = Object.keys(await env.es.indices.getAlias({ name: env.alias }));
    expect(after).toEqual([result.index as string]);
    expect(after[0]).not.toBe(before);
    expect(await env.es.indices.exists({ index: before ?? "" })).toBe(false);
    await until("the new index to match PostgreSQL", async () => {
      const { pg, es } = await versionsBoth(env.sql, env.es, env.alias);
      return [...pg].every(([id, v]) => es.get(id) === v) && es.size === pg.size;
    });
  }, 180_000);
});
