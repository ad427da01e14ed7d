/**
 * es-sync end to end: PostgreSQL → private Debezium B → Kafka → es-sync → Elasticsearch.
 * Creates, updates and deletes land with the right fields and versions; replaying the topic from
 * the start changes nothing; a SIGKILL mid-batch leaves nothing missing or stale; two instances
 * share the partitions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { getDoc, insertJobs, owner, type SearchEnv, startSearchEnv, until, versionsBoth } from "../helpers/search.ts";

let env: SearchEnv;
let a: ServiceProcess;

beforeAll(async () => {
  env = await startSearchEnv("essync");
  a = await env.esSync(1);
  await a.start(90_000);
}, 400_000);

afterAll(async () => {
  await env?.stop();
}, 120_000);

/** Waits until every job in PostgreSQL is in the alias at its version, and nothing else is. */
async function converged(timeoutMs = 90_000): Promise<void> {
  let last = "";
  await until(
    "Elasticsearch to match PostgreSQL",
    async () => {
      const { pg, es } = await versionsBoth(env.sql, env.es, env.alias);
      const wrong = [...pg].filter(([id, v]) => es.get(id) !== v).length;
      const extra = [...es.keys()].filter((id) => !pg.has(id)).length;
      last = `${wrong} missing or stale, ${extra} extra of ${pg.size}`;
      return wrong === 0 && extra === 0;
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${last}`);
  });
}

describe("es-sync", () => {
  test("create, update and delete jobs → searchable with the right fields and versions", async () => {
    const o = await owner(env.sql);
    const [created, updated, deleted] = await insertJobs(env.sql, o, 3);
    await env.sql`UPDATE job SET status = 'IN_PROGRESS', step = 'container_create', version = version + 1, updated_at = now()
                  WHERE id = ${updated ?? ""}`;
    await env.sql`UPDATE job SET status = 'FAILED', error_code = 'DISK_FULL', error_message = 'disk full on host-3',
                  attempts = 2, finished_at = now(), version = version + 1, updated_at = now() WHERE id = ${updated ?? ""}`;
    await until("the three jobs indexed", async () => (await getDoc(env.es, env.alias, deleted ?? ""))?.version === 1);
    await env.sql`DELETE FROM job WHERE id = ${deleted ?? ""}`;
    await until("the update and the delete", async () => {
      const u = await getDoc(env.es, env.alias, updated ?? "");
      return u?.version === 3 && (await getDoc(env.es, env.alias, deleted ?? "")) === null;
    });
    const c = await getDoc(env.es, env.alias, created ?? "");
    expect(c?.version).toBe(1);
    expect(c?.source).toMatchObject({
      id: created,
      type: "WORKSPACE_CREATE",
      status: "SCHEDULED",
      userId: o.userId,
      ownerName: "Search Test",
      ownerEmail: `${o.userId}@example.com`,
      workspaceId: o.workspaceId,
      projectName: `proj-${o.userId.slice(0, 8)}`,
      image: "a4c/base:latest",
      operationId: `op-${created}`,
      version: 1,
    });
    const u = await getDoc(env.es, env.alias, updated ?? "");
    expect(u?.source).toMatchObject({
      status: "FAILED",
      step: "container_create",
      errorCode: "DISK_FULL",
      errorMessage: "disk full on host-3",
      attempts: 2,
      version: 3,
    });
    expect(typeof u?.source.finishedAt).toBe("string");
    // Full text and the case-insensitive keyword work on what es-sync wrote.
    await env.es.indices.refresh({ index: env.alias });
    const hits = await env.es.search({
      index: env.alias,
      query: { bool: { filter: [{ term: { status: "failed" } }, { match: { errorMessage: "disk" } }] } },
    });
    expect(hits.hits.hits.map((h) => h._id)).toEqual([updated]);
    // Bookkeeping sits beside the job, outside the published tables.
    const [sync] = await env.sql<{ v: string }[]>`SELECT indexed_version::text AS v FROM search_sync
                                                 WHERE job_id = ${updated ?? ""}`;
    expect(sync?.v).toBe("3");
    const [gone] = await env.sql`SELECT 1 FROM search_sync WHERE job_id = ${deleted ?? ""}`;
    expect(gone).toBeUndefined();
  }, 120_000);

  test("replaying the Kafka topic from the start changes nothing", async () => {
    await converged();
    const { pg } = await versionsBoth(env.sql, env.es, env.alias);
    const before = new Map<string, number>();
    for (const id of pg.keys()) before.set(id, (await getDoc(env.es, env.alias, id))?.seqNo ?? -1);
    await a.stop();
    const admin = env.kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: env.group, topic: env.topic, earliest: true });
    const end = await admin.fetchTopicOffsets(env.topic);
    await a.start(90_000);
    // Until the group has committed the end of every partition again: the whole topic was re-read.
    await until("the replay to finish", async () => {
      const [committed] = await admin.fetchOffsets({ groupId: env.group, topics: [env.topic] });
      const at = (p: number) => committed?.partitions.find((c) => c.partition === p)?.offset;
      return end.every((p) => p.high === p.low || at(p.partition) === p.high);
    });
    await admin.disconnect();
    for (const [id, seqNo] of before) expect((await getDoc(env.es, env.alias, id))?.seqNo).toBe(seqNo);
    await converged(5_000);
  }, 180_000);

  test("SIGKILL mid-batch → after a restart nothing is missing or stale", async () => {
    const o = await owner(env.sql);
    const ids = await insertJobs(env.sql, o, 400);
    for (let round = 0; round < 3; round++) {
      await env.sql`UPDATE job SET version = version + 1, attempts = attempts + 1, updated_at = now()
                    WHERE id = ANY(${ids}::uuid[])`;
    }
    // Kill as soon as some of it is in: the rest is uncommitted work in flight.
    await until("some of the batch indexed", async () => {
      const r = await env.es.count({ index: env.alias, query: { terms: { id: ids.slice(0, 200) } } });
      return r.count > 0;
    });
    await a.kill();
    await env.sql`UPDATE job SET status = 'IN_PROGRESS', version = version + 1, updated_at = now()
                  WHERE id = ANY(${ids.slice(0, 50)}::uuid[])`;
    // A fresh process on a fresh port (as a crash-restarted pod would get); same group.
    a = await env.esSync(3);
    await a.start(90_000);
    await converged(120_000);
    expect((await getDoc(env.es, env.alias, ids[0] ?? ""))?.source).toMatchObject({
      status: "IN_PROGRESS",
      version: 5,
    });
  }, 240_000);

  test("two instances share the partitions", async () => {
    const b = await env.esSync(2);
    await b.start(90_000);
    const partitions = async (svc: ServiceProcess): Promise<number[]> => {
      const r = (await (await fetch(`${svc.url}/ready`)).json()) as {
        checks: { kafka: { detail: { partitions: number[] } } };
      };
      return r.checks.kafka.detail.partitions;
    };
    await until("a rebalance giving each instance a share", async () => {
      const [pa, pb] = [await partitions(a), await partitions(b)];
      return pa.length > 0 && pb.length > 0 && new Set([...pa, ...pb]).size === 6 && pa.length + pb.length === 6;
    });
    const o = await owner(env.sql);
    await insertJobs(env.sql, o, 60);
    await converged();
    await b.stop();
  }, 180_000);
});
