/**
 * Elasticsearch stopped, killed and frozen under the search path (failure matrix: "ES down →
 * search from PostgreSQL with degraded:true").
 *  - read-api answers every search from PostgreSQL, same items, totals and facets, degraded;
 *  - jobs committed during the outage are found at once (PostgreSQL is the truth);
 *  - es-sync waits in place: nothing is routed to a retry topic or the DLQ, no offset is lost;
 *  - back up, the breaker closes, answers come from Elasticsearch again and hold every change
 *    made during the outage at its committed version.
 *
 * Isolation: a PRIVATE Elasticsearch node (run from the launcher's installed distribution, own
 * ports and data), a private database, Debezium B, topic, alias and es-sync: the launcher's node,
 * which every other test uses, is never touched.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "@a4c/shared";
import { ElasticsearchServer } from "../../infra/components/elasticsearch.ts";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { LOCAL } from "../../infra/lib/paths.ts";
import { metricsText, metricValue, operator } from "../helpers/ops.ts";
import { freePort } from "../helpers/ports.ts";
import { type SearchAnswer, type SearchEnv, search, startSearchEnv, until, versionsBoth } from "../helpers/search.ts";

let es: ElasticsearchServer;
let env: SearchEnv;
let sync: ServiceProcess;
let api: ServiceProcess;
const user = { id: randomUUID(), name: "Outage Owner" };
/** Everything the user may search; `owner:me` is implied for a user, so the admin token is used. */
const QUERIES: Record<string, string>[] = [
  {},
  { q: "status:failed" },
  { q: '"disk full"' },
  { q: "status:failed type:workspace_create -project:frontend" },
  { q: "status:completed OR status:in_progress", sort: "createdAt:asc" },
  { q: "project:backend-api", limit: "5" },
];
const STATUSES = ["FAILED", "COMPLETED", "IN_PROGRESS", "SCHEDULED"] as const;
const TYPES = ["WORKSPACE_CREATE", "WORKSPACE_DELETE", "IMAGE_BUILD"] as const;

async function seedOwner(sql: Sql): Promise<string[]> {
  await sql`INSERT INTO users (id, name, email, token_hash)
            VALUES (${user.id}, ${user.name}, ${`${user.id}@example.com`}, ${Buffer.from(randomBytes(32))})`;
  const workspaces: string[] = [];
  for (const project of ["backend-api", "frontend"]) {
    const id = randomUUID();
    workspaces.push(id);
    await sql`INSERT INTO workspace (id, user_id, project_name, image, status)
              VALUES (${id}, ${user.id}, ${project}, 'a4c/base:latest', 'RUNNING')`;
  }
  return workspaces;
}

/** `n` jobs with every status, type and project; every third failed one ran out of disk. */
async function insertJobs(sql: Sql, workspaces: string[], n: number, offset = 0): Promise<string[]> {
  const rows = Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    const status = STATUSES[i % STATUSES.length] ?? "FAILED";
    return {
      id: randomUUID(),
      type: TYPES[i % TYPES.length] ?? "IMAGE_BUILD",
      status,
      workspace: TYPES[i % TYPES.length] === "IMAGE_BUILD" ? null : (workspaces[i % 2] ?? null),
      error: status === "FAILED" ? (i % 3 === 0 ? `disk full on host-${i}` : `image pull timeout ${i}`) : null,
      minutes: 1_000 - i,
    };
  });
  await sql`INSERT INTO job (id, type, status, user_id, workspace_id, operation_id, error_message, created_at)
            SELECT r.id, r.type, r.status, ${user.id}, r.workspace, 'op-' || r.id, r.error,
                   now() - make_interval(mins => r.minutes)
              FROM jsonb_to_recordset(${sql.json(rows)}::jsonb)
                   AS r(id uuid, type text, status text, workspace uuid, error text, minutes int)`;
  return rows.map((r) => r.id);
}

async function allIndexed(): Promise<void> {
  await until(
    "Elasticsearch to hold every job at its committed version",
    async () => {
      const v = await versionsBoth(env.sql, env.es, env.alias);
      return v.pg.size === v.es.size && [...v.pg].every(([id, version]) => v.es.get(id) === version);
    },
    120_000,
  );
}

const answers = async () => Promise.all(QUERIES.map((params) => search(api, env.adminToken, params)));
const shape = (b: SearchAnswer) => ({ items: b.items, total: b.total, facets: b.facets, cursor: b.cursor !== null });
const routed = () => metricValue(sync, "a4c_es_sync_routed_total");
const breakerState = async () =>
  ((await (await fetch(`${api.url}/ready`)).json()) as { checks: Record<string, { detail?: string }> }).checks;

let workspaces: string[] = [];

beforeAll(async () => {
  const run = randomBytes(3).toString("hex");
  const shared = new ElasticsearchServer(join(LOCAL, "elasticsearch"));
  es = new ElasticsearchServer(join(LOCAL, "test", `es-down-${run}`), await freePort(), {
    transportPort: await freePort(),
    heap: "384m",
    home: shared.home,
  });
  await es.start();
  env = await startSearchEnv("esdown", { elasticsearchUrl: es.url });
  workspaces = await seedOwner(env.sql);
  sync = await env.esSync(1);
  await sync.start(90_000);
  await insertJobs(env.sql, workspaces, 40);
  await allIndexed();
  api = await env.readApi("api", {
    env: {
      A4C_SEARCH_TIMEOUT_MS: "500",
      A4C_SEARCH_BREAKER_MIN_VOLUME: "2",
      A4C_SEARCH_BREAKER_OPEN_MS: "1000",
    },
  });
  await api.start();
}, 600_000);

afterAll(async () => {
  const pid = (await es?.status())?.pid;
  if (pid) process.kill(pid, "SIGCONT");
  await env?.stop();
  await es?.stop();
  if (es) rmSync(es.dir, { recursive: true, force: true });
}, 180_000);

describe("Elasticsearch down", () => {
  test("killed: PostgreSQL answers the same, outage writes are found, es-sync waits and catches up", async () => {
    const before = await answers();
    for (const r of before)
      expect({ status: r.status, source: r.body.source }).toEqual({ status: 200, source: "elasticsearch" });
    const routedBefore = await routed();

    await es.stop("SIGKILL");
    // Twice: the window also holds the successes above, and the breaker opens above half failures.
    await answers();
    const during = await answers();
    during.forEach((r, i) => {
      expect({ q: QUERIES[i], status: r.status, source: r.body.source, degraded: r.body.degraded }).toEqual({
        q: QUERIES[i],
        status: 200,
        source: "postgres",
        degraded: true,
      });
      expect(shape(r.body)).toEqual(shape(before[i]?.body as SearchAnswer));
    });
    expect(JSON.stringify(await breakerState())).toMatch(/"breaker":"(open|half-open)"/);

    // Changes while Elasticsearch is away: new jobs, and running jobs that finish.
    const added = await insertJobs(env.sql, workspaces, 12, 40);
    const finished = await env.sql<{ id: string }[]>`
      UPDATE job SET status = 'COMPLETED', version = version + 1, updated_at = now()
       WHERE status = 'IN_PROGRESS' AND user_id = ${user.id} RETURNING id::text`;
    expect(finished.length).toBeGreaterThan(0);
    const all = await search(api, env.adminToken, { limit: "100" });
    expect(all.body.source).toBe("postgres");
    expect(all.body.total).toBe(52);
    expect(all.body.items.map((i) => i.id)).toEqual(expect.arrayContaining(added));
    expect(all.body.facets.status.running ?? 0).toBe(0);
    const truth = await answers();

    // es-sync holds its batch and waits: nothing is sent to a retry topic or the DLQ.
    await until("es-sync to report Elasticsearch unavailable", async () => {
      return (await metricValue(sync, "a4c_es_sync_dependency_unavailable")) === 1;
    });
    expect(await routed()).toBe(routedBefore);

    await es.start();
    await until("answers from Elasticsearch again", async () => {
      const r = await search(api, env.adminToken, {});
      return r.body.source === "elasticsearch" && !r.body.degraded;
    });
    await allIndexed();
    const after = await answers();
    after.forEach((r, i) => {
      expect({ q: QUERIES[i], source: r.body.source }).toEqual({ q: QUERIES[i], source: "elasticsearch" });
      expect(shape(r.body)).toEqual(shape(truth[i]?.body as SearchAnswer));
    });
    expect(await routed()).toBe(routedBefore);
    expect(await metricValue(sync, "a4c_es_sync_dependency_unavailable")).toBe(0);
    const dlq = (await operator(sync, "/dlq")).body as { items: unknown[] };
    expect(dlq.items).toEqual([]);
    expect(await metricsText(api)).toMatch(/a4c_read_search_breaker_state\{[^}]*\} 0/);
  }, 300_000);

  test("frozen (SIGSTOP): searches still answer from PostgreSQL, bounded by the timeout; thawed, all is current", async () => {
    const pid = (await es.status()).pid;
    expect(pid).not.toBeNull();
    const before = await answers();
    process.kill(pid as number, "SIGSTOP");
    try {
      // The first calls wait for the 500 ms timeout, then the breaker opens and answers come at once.
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        const during = await answers();
        const perQuery = (performance.now() - started) / QUERIES.length;
        during.forEach((r, i) => {
          expect({ status: r.status, source: r.body.source, degraded: r.body.degraded }).toEqual({
            status: 200,
            source: "postgres",
            degraded: true,
          });
          expect(shape(r.body)).toEqual(shape(before[i]?.body as SearchAnswer));
        });
        // Generous against the 500 ms timeout: a hang would take the 30 s client timeout.
        expect(perQuery).toBeLessThan(5_000);
      }
      const [job] = await env.sql<{ id: string }[]>`
        UPDATE job SET status = 'FAILED', error_message = 'frozen node', version = version + 1, updated_at = now()
         WHERE id = (SELECT id FROM job WHERE status = 'SCHEDULED' ORDER BY id LIMIT 1) RETURNING id::text`;
      const found = await search(api, env.adminToken, { q: '"frozen node"' });
      expect(found.body.items.map((i) => i.id)).toEqual([job?.id ?? "no SCHEDULED job"]);
    } finally {
      process.kill(pid as number, "SIGCONT");
    }
    await until("answers from Elasticsearch again", async () => {
      const r = await search(api, env.adminToken, { q: '"frozen node"' });
      return r.body.source === "elasticsearch" && r.body.total === 1;
    });
    await allIndexed();
    const dlq = (await operator(sync, "/dlq")).body as { items: unknown[] };
    expect(dlq.items).toEqual([]);
  }, 300_000);
});
