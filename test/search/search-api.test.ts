/**
 * read-api job search (GET /v1/jobs) end to end: jobs in PostgreSQL → private Debezium B → Kafka →
 * es-sync → a private alias, searched through two read-api processes: one on the launcher's
 * Elasticsearch, one on a port that first refuses connections (its breaker opens, PostgreSQL
 * answers, degraded) and later forwards to Elasticsearch (the breaker closes again). The shared
 * Elasticsearch is never stopped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { tokenHash } from "@a4c/shared";
import fc from "fast-check";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { PORTS } from "../../infra/lib/paths.ts";
import { metricsText } from "../helpers/ops.ts";
import { freePort } from "../helpers/ports.ts";
import { type SearchEnv, search, startSearchEnv, until, versionsBoth } from "../helpers/search.ts";

const ES_URL = `http://127.0.0.1:${PORTS.elasticsearch}`;
const BASE = Date.parse("2026-03-01T12:00:00.000Z");
/** Job n was created n minutes before BASE (plus some microseconds, as real rows are). */
const at = (n: number) => new Date(BASE - n * 60_000);

interface Seed {
  n: number;
  owner: "a" | "b";
  type: string;
  status: string;
  project: string | null;
  error: string | null;
}

const SEED: Seed[] = [
  {
    n: 1,
    owner: "a",
    type: "WORKSPACE_CREATE",
    status: "FAILED",
    project: "backend-api",
    error: "disk full on host-3",
  },
  { n: 2, owner: "a", type: "WORKSPACE_CREATE", status: "COMPLETED", project: "backend-api", error: null },
  { n: 3, owner: "a", type: "WORKSPACE_DELETE", status: "FAILED", project: "frontend", error: "image pull timeout" },
  { n: 4, owner: "a", type: "IMAGE_BUILD", status: "IN_PROGRESS", project: null, error: null },
  { n: 5, owner: "a", type: "WORKSPACE_CREATE", status: "FAILED", project: "frontend", error: "the disk is full" },
  { n: 6, owner: "a", type: "IMAGE_BUILD", status: "FAILED", project: null, error: "Disk-Full: quota exceeded" },
  {
    n: 7,
    owner: "b",
    type: "WORKSPACE_CREATE",
    status: "FAILED",
    project: "backend-api",
    error: "disk full on host-9",
  },
  { n: 8, owner: "b", type: "WORKSPACE_CREATE", status: "SCHEDULED", project: "backend-api", error: null },
];

let env: SearchEnv;
let esApi: ServiceProcess;
let flaky: ServiceProcess;
let flakyPort: number;
let proxy: ReturnType<typeof Bun.serve> | null = null;
const users = {
  a: { id: randomUUID(), token: `tok-a-${randomUUID()}` },
  b: { id: randomUUID(), token: `tok-b-${randomUUID()}` },
};
const jobIds = new Map<number, string>();

async function seed(): Promise<void> {
  const { sql } = env;
  const workspaces = new Map<string, string>();
  for (const [key, u] of Object.entries(users)) {
    await sql`INSERT INTO users (id, name, email, token_hash)
              VALUES (${u.id}, ${`User ${key}`}, ${`${u.id}@example.com`}, decode(${tokenHash(u.token)}, 'hex'))`;
  }
  for (const s of SEED) {
    const userId = users[s.owner].id;
    let workspaceId: string | null = null;
    if (s.project) {
      const key = `${s.owner}/${s.project}`;
      workspaceId = workspaces.get(key) ?? randomUUID();
      if (!workspaces.has(key)) {
        workspaces.set(key, workspaceId);
        await sql`INSERT INTO workspace (id, user_id, project_name, image, status)
                  VALUES (${workspaceId}, ${userId}, ${s.project}, 'a4c/base:latest', 'RUNNING')`;
      }
    }
    const id = randomUUID();
    jobIds.set(s.n, id);
    // Microseconds on top, as now() gives: cursors must neither skip nor repeat such rows.
    await sql`INSERT INTO job (id, type, status, user_id, workspace_id, operation_id, error_code, error_message, created_at)
              VALUES (${id}, ${s.type}, ${s.status}, ${userId}, ${workspaceId}, ${`op-${id}`},
                      ${s.error ? "E_TEST" : null}, ${s.error},
                      ${at(s.n).toISOString()}::timestamptz + make_interval(secs => ${(s.n * 37) / 1e6}))`;
  }
}

const readTail = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").slice(-3_000) : "(no log)");

beforeAll(async () => {
  env = await startSearchEnv("searchapi");
  const sync = await env.esSync(1);
  await sync.start(90_000);
  await seed();
  await until(
    "Elasticsearch to hold every job",
    async () => {
      const { pg, es } = await versionsBoth(env.sql, env.es, env.alias);
      return pg.size === SEED.length && [...pg].every(([id, v]) => es.get(id) === v);
    },
    120_000,
  );
  esApi = await env.readApi("es");
  // Nothing listens on this port until the recovery test puts a proxy to Elasticsearch there.
  flakyPort = await freePort();
  flaky = await env.readApi("flaky", {
    elasticsearchUrl: `http://127.0.0.1:${flakyPort}`,
    env: { A4C_SEARCH_BREAKER_MIN_VOLUME: "2", A4C_SEARCH_BREAKER_OPEN_MS: "1000" },
  });
  await Promise.all([esApi.start(), flaky.start()]).catch((err) => {
    for (const api of [esApi, flaky]) console.error(`${api.logFile}:\n${readTail(api.logFile)}`);
    throw err;
  });
}, 400_000);

afterAll(async () => {
  proxy?.stop(true);
  await env?.stop();
}, 120_000);

const ids = (...ns: number[]): string[] => ns.map((n) => jobIds.get(n) ?? `missing job ${n}`);
const token = (who: "a" | "b" | "admin") => (who === "admin" ? env.adminToken : users[who].token);

const CASES: Array<{ who: "a" | "b" | "admin"; params: Record<string, string>; expect: number[] }> = [
  { who: "a", params: { q: "status:failed" }, expect: [1, 3, 5, 6] },
  {
    who: "a",
    params: { q: 'status:failed type:workspace_create project:backend-api owner:me "disk full"' },
    expect: [1],
  },
  { who: "a", params: { q: '"disk full"' }, expect: [1, 6] },
  { who: "a", params: { q: "disk full" }, expect: [1, 5, 6] },
  { who: "a", params: { q: "status:FAILED OR status:running -type:image_build" }, expect: [1, 3, 5] },
  { who: "a", params: { q: "-project:backend-api" }, expect: [3, 4, 5, 6] },
  { who: "a", params: { q: "-disk" }, expect: [2, 3, 4] },
  { who: "a", params: { from: at(4).toISOString(), to: at(2).toISOString() }, expect: [3, 4] },
  { who: "a", params: { sort: "createdAt:asc", q: "type:image_build" }, expect: [6, 4] },
  { who: "admin", params: { q: "project:backend-api" }, expect: [1, 2, 7, 8] },
  { who: "admin", params: { q: "disk full status:failed" }, expect: [1, 5, 6, 7] },
];

describe("GET /v1/jobs", () => {
  test("filters give the right items from Elasticsearch, with facets", async () => {
    for (const c of CASES) {
      const { status, body } = await search(esApi, token(c.who), c.params);
      expect({ params: c.params, status, source: body.source, degraded: body.degraded }).toEqual({
        params: c.params,
        status: 200,
        source: "elasticsearch",
        degraded: false,
      });
      expect({ params: c.params, ids: body.items.map((i) => i.id) }).toEqual({
        params: c.params,
        ids: ids(...c.expect),
      });
      expect(body.total).toBe(c.expect.length);
    }
    const { body } = await search(esApi, token("a"), { q: "status:failed" });
    expect(body.facets).toEqual({
      status: { failed: 4 },
      type: { workspace_create: 2, workspace_delete: 1, image_build: 1 },
    });
  }, 60_000);

  test("a user sees only its own jobs, whatever q says", async () => {
    const mine = await search(esApi, token("b"), {});
    expect(mine.body.items.map((i) => i.id)).toEqual(ids(7, 8));
    const other = await search(esApi, token("b"), { q: `owner:${users.a.id}` });
    expect(other.body.items).toEqual([]);
    expect(other.body.total).toBe(0);
    const other2 = await search(esApi, token("b"), { q: `owner:${users.a.id} OR owner:me` });
    expect(other2.body.items.map((i) => i.userId)).toEqual([users.b.id, users.b.id]);
    expect((await search(esApi, "nobody", {})).status).toBe(401);
  });

  test("Elasticsearch unreachable → PostgreSQL answers the same, degraded", async () => {
    for (const c of CASES) {
      const es = await search(esApi, token(c.who), c.params);
      const pg = await search(flaky, token(c.who), c.params);
      expect({ params: c.params, status: pg.status, source: pg.body.source, degraded: pg.body.degraded }).toEqual({
        params: c.params,
        status: 200,
        source: "postgres",
        degraded: true,
      });
      expect(pg.body.items).toEqual(es.body.items);
      expect(pg.body.total).toBe(es.body.total);
      expect([pg.body.totalRelation, es.body.totalRelation]).toEqual(["eq", "eq"]);
      expect(pg.body.facets).toEqual(es.body.facets);
    }
    const ready = (await (await fetch(`${flaky.url}/ready`)).json()) as Record<string, unknown>;
    // Open, or half-open when its wait is over and the next search will probe.
    expect(JSON.stringify(ready)).toMatch(/"breaker":"(open|half-open)"/);
    expect(await metricsText(flaky)).toMatch(/a4c_read_search_breaker_state\{[^}]*\} [12]/);
  }, 60_000);

  test("cursor paging walks every job once, on both backends", async () => {
    for (const [api, source] of [
      [esApi, "elasticsearch"],
      [flaky, "postgres"],
    ] as const) {
      for (const sort of ["createdAt:desc", "createdAt:asc"]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        for (let page = 0; page < 10; page++) {
          const params: Record<string, string> = { limit: "3", sort, ...(cursor ? { cursor } : {}) };
          const { body } = await search(api, env.adminToken, params);
          expect(body.source).toBe(source);
          expect(body.total).toBe(SEED.length);
          seen.push(...body.items.map((i) => i.id));
          cursor = body.cursor;
          if (!cursor) break;
        }
        const desc = ids(1, 2, 3, 4, 5, 6, 7, 8);
        expect(seen).toEqual((sort === "createdAt:desc" ? desc : desc.reverse()) as string[]);
      }
    }
  }, 60_000);

  test("hostile q and parameters → 400 or results, never 5xx", async () => {
    const fixed = [
      'status:"x\\" OR 1=1"',
      "*",
      "\u0000",
      "'; DROP TABLE job; --",
      '{"query_string":{"query":"*"}}',
      "status:failed) OR (1=1",
      "🙂 é ß",
      "x".repeat(10_000),
      '"',
      "\\",
      "owner:me",
      "-",
    ];
    const random = fc.sample(
      fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 })),
      30,
    );
    for (const api of [esApi, flaky]) {
      for (const q of [...fixed, ...random]) {
        for (const who of ["a", "admin"] as const) {
          const { status, body } = await search(api, token(who), { q });
          expect({ q, status }).toEqual({ q, status: status === 400 ? 400 : 200 });
          if (status === 200) expect(body.items.every((i) => who === "admin" || i.userId === users.a.id)).toBe(true);
        }
      }
      const badParams: Record<string, string>[] = [
        { from: "nope" },
        { sort: "id" },
        { cursor: "AAAA" },
        { limit: "-1" },
        { to: "2026-13-45" },
      ];
      for (const params of badParams) {
        expect((await search(api, token("a"), params)).status).toBe(400);
      }
    }
  }, 120_000);

  test("Elasticsearch back → the breaker half-opens, closes, answers come from Elasticsearch again", async () => {
    expect((await search(flaky, token("a"), { q: "status:failed" })).body.source).toBe("postgres");
    // A proxy to Elasticsearch on the port that refused until now.
    proxy = Bun.serve({
      port: flakyPort,
      hostname: "127.0.0.1",
      async fetch(req) {
        const url = new URL(req.url);
        const upstream = await fetch(`${ES_URL}${url.pathname}${url.search}`, {
          method: req.method,
          headers: req.headers,
          body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        });
        const headers = new Headers(upstream.headers);
        headers.delete("content-encoding");
        headers.delete("content-length");
        return new Response(await upstream.arrayBuffer(), { status: upstream.status, headers });
      },
    });
    await until("answers from Elasticsearch again", async () => {
      const { body } = await search(flaky, token("a"), { q: "status:failed" });
      return body.source === "elasticsearch" && !body.degraded;
    });
    const { body } = await search(flaky, token("a"), { q: "status:failed" });
    expect(body.items.map((i) => i.id)).toEqual(ids(1, 3, 5, 6));
    expect(await metricsText(flaky)).toMatch(/a4c_read_search_breaker_state\{[^}]*\} 0/);
  }, 60_000);
});
