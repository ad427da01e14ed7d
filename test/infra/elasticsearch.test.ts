/**
 * Elasticsearch from Maven Central, started through its launcher component (reused when already
 * running, left running afterwards), and the jobs index: mapping, external versions, search.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { Client, errors, HttpConnection } from "@elastic/elasticsearch";
import { ElasticsearchServer, ES_VERSION } from "../../infra/components/elasticsearch.ts";
import { LOCAL } from "../../infra/lib/paths.ts";
import {
  aliasTargets,
  createJobsIndex,
  type JobDocument,
  pointJobsAlias,
} from "../../packages/shared/src/search/jobs-index.ts";

const port = Number(process.env.A4C_ES_PORT ?? 59200);
const transportPort = Number(process.env.A4C_ES_TRANSPORT_PORT ?? 59300);
const es = new ElasticsearchServer(join(LOCAL, "elasticsearch"), port, { transportPort, startTimeoutMs: 180_000 });
let client: Client;
const run = `t${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const index = `jobs-test-${run}`;
const otherIndex = `${index}-b`;

beforeAll(
  async () => {
    const started = performance.now();
    await es.start();
    const st = await es.status();
    console.log(
      `elasticsearch ${await es.version()} ready in ${Math.round(performance.now() - started)} ms, pid ${st.pid}, rss ${st.rssMb} MiB`,
    );
    // The default (undici) connection does not work under Bun; the node:http one does.
    client = new Client({ node: es.url, Connection: HttpConnection, requestTimeout: 30_000 });
  },
  { timeout: 200_000 },
);

afterAll(async () => {
  await client?.indices.delete({ index: [index, otherIndex], ignore_unavailable: true });
  await client?.close();
});

test("the component reports a running node of the pinned version, and start() is idempotent", async () => {
  const before = await es.status();
  expect(before.running).toBe(true);
  expect(before.rssMb).toBeGreaterThan(0);
  expect(await es.version()).toBe(ES_VERSION);
  const t = performance.now();
  await es.start();
  expect(performance.now() - t).toBeLessThan(10_000);
  expect((await es.status()).pid).toBe(before.pid);
  const health = await client.cluster.health();
  expect(["green", "yellow"]).toContain(health.status);
});

const day = (d: string) => `${d}T12:00:00.000Z`;
const ids = Object.fromEntries(["j1", "j2", "j3", "j4", "j5", "j6", "j7"].map((k) => [k, randomUUID()]));
const userId = randomUUID();

function job(key: string, over: Partial<JobDocument>): JobDocument {
  return {
    id: ids[key] as string,
    type: "WORKSPACE_CREATE",
    status: "FAILED",
    hostId: null,
    repository: null,
    hostName: null,
    step: "create_container",
    userId,
    ownerName: "Ada Lovelace",
    ownerEmail: "Ada@Example.org",
    workspaceId: randomUUID(),
    projectName: "backend-api",
    image: "a4c/base:1",
    operationId: randomUUID(),
    attempts: 1,
    errorCode: "host_error",
    errorMessage: null,
    createdAt: day("2026-01-10"),
    updatedAt: day("2026-01-10"),
    startedAt: day("2026-01-10"),
    finishedAt: day("2026-01-10"),
    version: 1,
    ...over,
  };
}

/** Bulk-indexes with the document's version as the external version; returns each item's outcome. */
async function bulk(target: string, docs: JobDocument[]) {
  const r = await client.bulk({
    operations: docs.flatMap((d) => [
      { index: { _index: target, _id: d.id, version: d.version, version_type: "external" as const } },
      d,
    ]),
  });
  return r.items.map((i) => ({ status: i.index?.status, error: i.index?.error?.type }));
}

test("create the jobs index with the shared mapping; a second create is a no-op", async () => {
  expect(await createJobsIndex(client, index)).toBe(true);
  expect(await createJobsIndex(client, index)).toBe(false);
  const mapping = await client.indices.getMapping({ index });
  const props = mapping[index]?.mappings.properties ?? {};
  expect(mapping[index]?.mappings.dynamic).toBe("strict");
  expect(props.status?.type).toBe("keyword");
  expect(props.errorMessage?.type).toBe("text");
  expect(props.createdAt?.type).toBe("date");
  expect(props.version?.type).toBe("long");
  // A single node: the replica auto-expansion keeps the index green.
  const health = await client.cluster.health({ index, wait_for_status: "green", timeout: "30s" });
  expect(health.status).toBe("green");
});

test("external versions: an older or equal version is refused, a newer one wins", async () => {
  const first = await bulk(index, [
    job("j1", { status: "IN_PROGRESS", errorCode: null, finishedAt: null, version: 3 }),
    job("j2", { errorMessage: "Disk is FULL", createdAt: day("2026-01-12"), version: 5 }),
    job("j3", { errorMessage: "disk full", createdAt: day("2025-12-01") }),
    job("j4", { status: "COMPLETED", errorCode: null, createdAt: day("2026-01-15") }),
    job("j5", { errorMessage: "image pull failed: manifest unknown", createdAt: day("2026-01-20") }),
    job("j6", { errorMessage: "disk quota exceeded", createdAt: day("2026-01-21") }),
    job("j7", { status: "IN_PROGRESS", errorCode: null, finishedAt: null, createdAt: day("2026-01-22") }),
  ]);
  expect(first.every((i) => i.status === 201)).toBe(true);

  const disk = "No space left on device: disk full on host h1";
  const second = await bulk(index, [
    job("j1", { status: "SCHEDULED", version: 2 }), // an older event replayed late
    job("j1", { errorMessage: disk, version: 4 }), // the newer state
    job("j1", { status: "IN_PROGRESS", version: 4 }), // the same version again
  ]);
  expect(second).toEqual([
    { status: 409, error: "version_conflict_engine_exception" },
    { status: 200, error: undefined },
    { status: 409, error: "version_conflict_engine_exception" },
  ]);
  const got = await client.get<JobDocument>({ index, id: ids.j1 as string });
  expect(got._version).toBe(4);
  expect(got._source?.status).toBe("FAILED");
  expect(got._source?.errorMessage).toBe(disk);

  // The strict mapping refuses fields es-sync did not declare.
  const stray = await client.bulk({
    operations: [{ index: { _index: index, _id: randomUUID() } }, { ...job("j1", {}), nodeName: "h1" }],
  });
  expect(stray.items[0]?.index?.error?.type).toBe("strict_dynamic_mapping_exception");
});

test("term + range + full-text search finds exactly the matching jobs", async () => {
  await client.indices.refresh({ index });
  const search = (status: string) =>
    client.search<JobDocument>({
      index,
      query: {
        bool: {
          filter: [
            { term: { status } },
            { range: { createdAt: { gte: "2026-01-01T00:00:00Z", lt: "2026-02-01T00:00:00Z" } } },
          ],
          must: [{ match: { errorMessage: { query: "disk full", operator: "and" } } }],
        },
      },
      sort: [{ createdAt: "asc" }],
      track_total_hits: true,
    });
  const r = await search("failed");
  expect(r.hits.hits.map((h) => h._id)).toEqual([ids.j1, ids.j2]);
  expect(r.hits.total).toEqual({ value: 2, relation: "eq" });
  // The normalizer makes the filter case-insensitive, as the q syntax `status:failed` needs.
  expect((await search("FAILED")).hits.hits.map((h) => h._id)).toEqual([ids.j1, ids.j2]);

  const facets = await client.search({
    index,
    size: 0,
    query: { range: { createdAt: { gte: "2026-01-01T00:00:00Z", lt: "2026-02-01T00:00:00Z" } } },
    aggs: { status: { terms: { field: "status" } } },
  });
  const agg = facets.aggregations?.status as { buckets: { key: string; doc_count: number }[] } | undefined;
  const buckets = agg?.buckets ?? [];
  expect(Object.fromEntries(buckets.map((b) => [b.key, b.doc_count]))).toEqual({
    failed: 4,
    in_progress: 1,
    completed: 1,
  });

  const byProject = await client.search({
    index,
    size: 0,
    track_total_hits: true,
    query: {
      bool: {
        filter: [{ term: { projectName: "backend-api" } }, { term: { ownerEmail: "ada@example.org" } }],
        must: [{ match: { "projectName.text": "Backend" } }],
      },
    },
  });
  expect(byProject.hits.total).toEqual({ value: 7, relation: "eq" });
});

test("the alias moves atomically between indices; writes to a missing index fail", async () => {
  const alias = `${index}-alias`;
  expect(await createJobsIndex(client, otherIndex)).toBe(true);
  expect(await pointJobsAlias(client, index, alias)).toEqual([]);
  expect(await aliasTargets(client, alias)).toEqual([index]);
  expect(await pointJobsAlias(client, otherIndex, alias)).toEqual([index]);
  expect(await aliasTargets(client, alias)).toEqual([otherIndex]);

  // action.auto_create_index is off: a typo must not create a dynamically mapped index.
  const missing = `${index}-missing`;
  const err = await client.index({ index: missing, document: { id: "x" } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(errors.ResponseError);
  expect((err as errors.ResponseError).body).toMatchObject({ error: { type: "index_not_found_exception" } });
});
