/**
 * Hostile input, property-based, for every route of every service (the table in routes.ts): path
 * params, query strings, headers and bodies from arbitraries.ts, sent as a stranger, with a junk
 * token, as a user (the attacker) or as the admin. For every request:
 *   - never a 5xx, never a hang, never a dropped connection;
 *   - every 4xx is problem+json with our own type/title/detail, and no library's or database's text;
 *   - a refused request changes nothing in PostgreSQL or in the JetStream streams;
 *   - nothing the attacker is answered holds another user's (the victim's) identifiers.
 * Bounded: HOSTILE_RUNS requests per route (default 100), at most HOSTILE_ROUTE_MS (20 s) per route.
 * Each route prints what it tried as principal:status × count.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Client, HttpConnection } from "@elastic/elasticsearch";
import fc from "fast-check";
import { Kafka, logLevel } from "kafkajs";
import { ServiceProcess } from "../../infra/components/service.ts";
import { LOCAL, PORTS, ROOT } from "../../infra/lib/paths.ts";
import { createUser, post, settle } from "../helpers/client.ts";
import { freePort } from "../helpers/ports.ts";
import { reindexAndWait, removeEsSyncTraces } from "../helpers/search.ts";
import { jetstreamManager, startStack, type TestStack } from "../helpers/stack.ts";
import {
  type Body,
  body,
  contentType,
  garbageAuthorization,
  headerValue,
  idempotencyKey,
  nastyCursor,
  nastyInstant,
  nastyString,
  type Principal,
  pathSegment,
  principal,
  queryString,
} from "./arbitraries.ts";
import { ROUTES, type RouteSpec, type ServiceName } from "./routes.ts";

const RUNS = Number(process.env.HOSTILE_RUNS ?? 100);
const ROUTE_MS = Number(process.env.HOSTILE_ROUTE_MS ?? 20_000);
/** A request not answered in this long counts as a hang (long-polls are capped at 1 s here). */
const HANG_MS = 10_000;
const METRICS_TOKEN = "a-scraper-token-for-metrics";
const BROKERS = [`127.0.0.1:${PORTS.kafka}`];
const ES_URL = `http://127.0.0.1:${PORTS.elasticsearch}`;

let stack: TestStack;
let esSync: ServiceProcess;
let fallback: ServiceProcess;
let provisioner: ServiceProcess;
let frontDoor: ServiceProcess;
const services = {} as Record<ServiceName, ServiceProcess>;
let attacker: { userId: string; token: string };
let victim: { userId: string; token: string };
/** Ids requests may name: both users' (and random ones, from the arbitraries). */
let ids: string[] = [];
/** What must never appear in an answer to anyone but the victim or the admin. */
let secrets: string[] = [];
const run = `h${Date.now().toString(36)}`;
const topic = `hostile.${run}.job`;
const group = `es-sync-${run}`;
const alias = `jobs_${run}`;
const kafka = new Kafka({ clientId: `a4c-${run}`, brokers: BROKERS, logLevel: logLevel.NOTHING });
const es = new Client({ node: ES_URL, Connection: HttpConnection });

async function workspaceOf(user: { userId: string; token: string }, project: string) {
  const r = await post(stack, `/v1/users/${user.userId}/workspaces`, { projectName: project }, { token: user.token });
  expect(r.status).toBe(202);
  expect((await settle(stack, r.body.operationId as string, user.token)).body.status).toBe("completed");
  const [row] = await stack.sql<
    { job: string }[]
  >`SELECT id::text AS job FROM job WHERE workspace_id = ${r.body.workspaceId as string}`;
  return {
    operationId: r.body.operationId as string,
    workspaceId: r.body.workspaceId as string,
    jobId: row?.job ?? "",
  };
}

beforeAll(async () => {
  stack = await startStack("hostile", {
    env: { A4C_MAX_WAIT_SECONDS: "1", A4C_SEARCH_ALIAS: alias, ELASTICSEARCH_URL: ES_URL, A4C_MAX_BODY_BYTES: "16384" },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const dir = join(stack.dir, "extra");
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  esSync = new ServiceProcess("es-sync", ROOT, dir, dir, port, {
    DATABASE_URL: stack.databaseUrl,
    KAFKA_BROKERS: BROKERS.join(","),
    ELASTICSEARCH_URL: ES_URL,
    ES_SYNC_TOPIC: topic,
    ES_SYNC_GROUP: group,
    ES_SYNC_ALIAS: alias,
    ES_SYNC_SESSION_TIMEOUT_MS: "10000",
    ES_SYNC_RECONCILE_INTERVAL_MS: "0",
    ES_SYNC_POLL_INTERVAL_MS: "3600000",
    A4C_ADMIN_TOKEN: stack.adminToken,
    A4C_LOG_LEVEL: "info",
    PORT: String(port),
  });
  // A read-api whose Elasticsearch is a closed port: every search is the PostgreSQL fallback.
  const fallbackPort = await freePort();
  fallback = new ServiceProcess("read-api", ROOT, join(dir, "fallback"), join(dir, "fallback"), fallbackPort, {
    ...stack.readApi.env,
    ELASTICSEARCH_URL: `http://127.0.0.1:${await freePort()}`,
    A4C_METRICS_TOKEN: METRICS_TOKEN,
    PORT: String(fallbackPort),
  });
  mkdirSync(join(dir, "fallback"), { recursive: true });
  // A provisioner on the same database, with no host registered: its operator routes act on nothing.
  const provisionerPort = await freePort();
  provisioner = new ServiceProcess(
    "provisioner",
    ROOT,
    join(dir, "provisioner"),
    join(dir, "provisioner"),
    provisionerPort,
    {
      DATABASE_URL: stack.databaseUrl,
      A4C_ADMIN_TOKEN: stack.adminToken,
      A4C_SSH_KEY: join(LOCAL, "ssh", "id_ed25519"),
      A4C_DEPLOYMENT: `hostile-${run}`,
      // It claims no jobs: nothing but the requests under test may change the database.
      A4C_PROVISION_CONCURRENCY: "0",
      PORT: String(provisionerPort),
    },
  );
  mkdirSync(join(dir, "provisioner"), { recursive: true });
  // The front door (the dashboard's server), passing requests on to all of the above.
  const frontDoorPort = await freePort();
  frontDoor = new ServiceProcess("dashboard", ROOT, join(dir, "dashboard"), join(dir, "dashboard"), frontDoorPort, {
    A4C_ADMIN_TOKEN: stack.adminToken,
    A4C_GATEWAY_URL: stack.gateway.url,
    A4C_READ_API_URL: stack.readApi.url,
    A4C_PROCESSOR_URL: stack.processor.url,
    A4C_ES_SYNC_URL: `http://127.0.0.1:${port}`,
    A4C_PROVISIONER_URL: `http://127.0.0.1:${provisionerPort}`,
    A4C_LOG_LEVEL: "info",
    PORT: String(frontDoorPort),
  });
  mkdirSync(join(dir, "dashboard"), { recursive: true });
  await Promise.all([esSync.start(120_000), fallback.start(), provisioner.start(), frontDoor.start()]);
  Object.assign(services, {
    gateway: stack.gateway,
    readApi: stack.readApi,
    processor: stack.processor,
    esSync,
    readApiFallback: fallback,
    provisioner,
    dashboard: frontDoor,
  });

  attacker = await createUser(stack, "Attacker");
  victim = await createUser(stack, "Victim");
  const [victimEmail] = await stack.sql<{ email: string }[]>`SELECT email FROM users WHERE id = ${victim.userId}`;
  const victimProject = `victim-${run}`;
  const v = await workspaceOf(victim, victimProject);
  const a = await workspaceOf(attacker, `attacker-${run}`);
  ids = [attacker.userId, victim.userId, v.workspaceId, a.workspaceId, v.jobId, a.jobId, v.operationId, a.operationId];
  secrets = [
    victim.userId,
    victim.token,
    victimEmail?.email ?? "",
    v.workspaceId,
    v.jobId,
    v.operationId,
    victimProject,
  ];
  // Both users' jobs in Elasticsearch, so a search that leaked would have something to leak.
  await reindexAndWait(esSync);
}, 240_000);

afterAll(async () => {
  await Promise.all([esSync?.stop(), fallback?.stop(), provisioner?.stop(), frontDoor?.stop()]);
  await removeEsSyncTraces({ kafka, brokers: BROKERS, group, topic, es, alias });
  await es.close();
  await stack?.stop();
}, 120_000);

/** Everything a request could change: the domain tables and the write streams. */
async function fingerprint() {
  const [db] = await stack.sql<{ digest: string }[]>`
    SELECT md5(concat_ws('|',
      (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM users t),
      (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM workspace t),
      (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM job t),
      (SELECT string_agg(t::text, ',' ORDER BY t.operation_id) FROM write_operations t),
      (SELECT count(*)::text FROM rejected_messages))) AS digest`;
  const jsm = await jetstreamManager(stack.nc);
  const [writes, dlq] = await Promise.all([
    jsm.streams.info(stack.names.writes),
    jsm.streams.info(stack.names.dlq).catch(() => null),
  ]);
  return { db: db?.digest, writes: writes.state.last_seq, dlq: dlq?.state.last_seq ?? 0 };
}

/** The victim's own rows: no one but the victim and the admin may change them. */
async function victimRows(): Promise<string> {
  const [row] = await stack.sql<{ digest: string }[]>`
    SELECT md5(concat_ws('|',
      (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM users t WHERE t.id = ${victim.userId}),
      (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM workspace t WHERE t.user_id = ${victim.userId}),
      (SELECT string_agg(t::text, ',' ORDER BY t.id) FROM job t
         WHERE t.workspace_id IN (SELECT id FROM workspace WHERE user_id = ${victim.userId})))) AS digest`;
  return row?.digest ?? "";
}
let victimBefore = "";

interface HostileRequest {
  as: Principal;
  garbage: string;
  segments: string[];
  query: string;
  key: string | undefined;
  type: string | undefined;
  body: Body | undefined;
  extra: [string, string] | null;
}

function requestArb(route: RouteSpec): fc.Arbitrary<HostileRequest> {
  const params = route.path.split("/").filter((s) => s.startsWith(":"));
  const values = fc.oneof(
    nastyString,
    nastyInstant,
    nastyCursor(ids),
    fc.constantFrom(...ids),
    fc.integer().map(String),
  );
  const qTerms = fc.oneof(
    values,
    fc.constantFrom(...ids).map((id) => `owner:${id}`),
    fc.constant(`project:victim-${run}`),
  );
  return fc.record({
    as: principal,
    garbage: garbageAuthorization,
    // The attacker's own user id half the time, so requests get past the 403 to the checks behind it.
    segments: fc.tuple(
      ...params.map((p) =>
        p === ":userId" ? fc.oneof(fc.constant(attacker.userId), pathSegment(ids)) : pathSegment(ids),
      ),
    ),
    query: route.query ? queryString(route.query, fc.oneof(values, qTerms)) : fc.constant(""),
    key: idempotencyKey,
    type: contentType,
    body: route.method === "GET" ? fc.constant(undefined) : fc.option(body(route.body ?? ["x"]), { nil: undefined }),
    extra: fc.option(fc.tuple(fc.constantFrom("x-forwarded-for", "x-a4c", "accept", "origin"), headerValue), {
      nil: null,
    }),
  });
}

function toWire(b: Body | undefined): RequestInit["body"] {
  if (!b) return undefined;
  if (b.kind === "text") return b.text;
  if (b.kind === "bytes") return b.bytes;
  const size = b.size;
  return new ReadableStream<Uint8Array>({
    start(c) {
      for (let sent = 0; sent < size; sent += 65_536) c.enqueue(new Uint8Array(65_536).fill(0x20));
      c.close();
    },
  });
}

/** Library and database wording that must never reach a client. */
const FOREIGN_TEXT =
  /SQLSTATE|syntax error|violates|relation "|invalid input syntax|TypeBox|Expected (string|object|number|union)|ECONN|TypeError|ReferenceError|SyntaxError|\bat \S+:\d+:\d+|Unexpected token|undefined is not/;

async function send(route: RouteSpec, r: HostileRequest) {
  let i = 0;
  const path = route.path.replace(/:[A-Za-z]+/g, () => r.segments[i++] ?? "");
  const svc = services[route.service];
  const headers: Record<string, string> = {};
  if (r.as === "attacker") headers.authorization = `Bearer ${attacker.token}`;
  if (r.as === "admin") headers.authorization = `Bearer ${stack.adminToken}`;
  if (r.as === "garbage") headers.authorization = r.garbage;
  if (r.key !== undefined) headers["idempotency-key"] = r.key;
  if (r.type !== undefined && r.body) headers["content-type"] = r.type;
  if (r.extra) headers[r.extra[0]] = r.extra[1];
  const url = `${svc.url}${path}${r.query ? `?${r.query}` : ""}`;
  const init = {
    method: route.method,
    headers,
    body: toWire(r.body),
    duplex: "half",
    signal: AbortSignal.timeout(HANG_MS),
  };
  const response = await fetch(url, init as RequestInit);
  const sse = response.headers.get("content-type")?.startsWith("text/event-stream");
  let text = "";
  if (sse) {
    // An event stream stays open while the operation is pending: its first event is enough.
    const reader = response.body?.getReader();
    const first = await reader?.read();
    text = new TextDecoder().decode(first?.value ?? new Uint8Array());
    await reader?.cancel();
  } else {
    text = await response.text();
  }
  return { url, response, text };
}

async function check(route: RouteSpec, r: HostileRequest, tally: Map<string, number>): Promise<void> {
  const before = await fingerprint();
  let answer: Awaited<ReturnType<typeof send>>;
  try {
    answer = await send(route, r);
  } catch (err) {
    throw new Error(`no answer (hang or dropped connection) for ${route.method} ${route.path}: ${String(err)}`);
  }
  const { response, text, url } = answer;
  const where = `${route.method} ${url} as ${r.as} → ${response.status} ${text.slice(0, 300)}`;
  const label = `${r.as}:${response.status}`;
  tally.set(label, (tally.get(label) ?? 0) + 1);
  expect(response.status, where).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.headers.get("content-type"), where).toContain("application/problem+json");
    const problem = JSON.parse(text) as Record<string, unknown>;
    expect(problem.status, where).toBe(response.status);
    for (const field of ["type", "title", "detail"]) expect(typeof problem[field], where).toBe("string");
    expect(String(problem.type), where).toStartWith("https://a4c.dev/problems/");
    expect(`${problem.title} ${problem.detail}`, where).not.toMatch(FOREIGN_TEXT);
    expect(await fingerprint(), `${where}: a refused request changed something`).toEqual(before);
  }
  if (r.as !== "admin") {
    // What the request itself named may come back (a 202 names the workspace it was asked to
    // delete); anything else of the victim's may not.
    const asked = `${url} ${r.key ?? ""} ${r.body?.kind === "text" ? r.body.text : ""}`;
    const seen = `${text} ${[...response.headers.values()].join(" ")}`;
    for (const secret of secrets.filter((s) => !asked.includes(s))) {
      expect(seen.includes(secret), `${where}: holds the victim's ${secret}`).toBe(false);
    }
  }
  // An accepted write is applied before the next request, so the next fingerprint is stable.
  if (response.status === 202 && (route.service === "gateway" || route.service === "dashboard")) {
    const done = await settle(stack, (JSON.parse(text) as { operationId: string }).operationId);
    expect(done.body.status, where).not.toBe("pending");
  }
  // Whatever got through, only the admin may have changed the victim's rows.
  if (r.as === "admin") victimBefore = await victimRows();
  else expect(await victimRows(), `${where}: changed the victim's rows`).toBe(victimBefore);
}

describe("hostile input on every route (property-based)", () => {
  for (const route of ROUTES) {
    test(
      `${route.service} ${route.method} ${route.path}`,
      async () => {
        const tally = new Map<string, number>();
        victimBefore = await victimRows();
        await fc.assert(
          fc.asyncProperty(requestArb(route), (r) => check(route, r, tally)),
          { numRuns: RUNS, interruptAfterTimeLimit: ROUTE_MS, markInterruptAsFailure: false, endOnFailure: true },
        );
        // What was tried, so a run that tried nothing shows: principal:status × count.
        const summary = [...tally].sort().map(([k, n]) => `${k}×${n}`);
        console.log(`${route.service} ${route.method} ${route.path}: ${summary.join(" ")}`);
        expect([...tally.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        // Still serving after all of it.
        expect((await fetch(`${services[route.service].url}/health`)).status).toBe(200);
      },
      ROUTE_MS + 60_000,
    );
  }
});

describe("the defects of issue 10, one by one", () => {
  const as = (token: string | null) => (token ? { authorization: `Bearer ${token}` } : undefined);
  const problemOf = async (r: Response) => {
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    return (await r.json()) as { status: number; detail: string };
  };
  const cursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString("base64url");
  const crafted = () => [
    cursor("2026-01-01T00:00:00Z", "-".repeat(36)),
    cursor("2026-01-01T00:00:00Z", "0123456789abcdef0123456789abcdef0123"),
    cursor("2026-02-30T00:00:00Z", attacker.userId),
    cursor("0000-01-01T00:00:00Z", attacker.userId),
  ];

  test("1. crafted cursors are a 400 on the workspace list and on both search backends", async () => {
    for (const c of crafted()) {
      for (const url of [
        `${stack.readApi.url}/v1/users/${attacker.userId}/workspaces?cursor=${c}`,
        `${stack.readApi.url}/v1/jobs?cursor=${c}`,
        `${fallback.url}/v1/jobs?cursor=${c}`,
      ]) {
        const r = await fetch(url, { headers: as(attacker.token) });
        expect(r.status, url).toBe(400);
        expect((await problemOf(r)).detail).toContain("invalid cursor");
      }
    }
  });

  const operatorRoutes: Array<[string, string]> = [
    ["GET", "/dlq"],
    ["POST", "/dlq/replay"],
    ["POST", "/reconcile"],
    ["GET", "/reindex"],
    ["POST", "/reindex"],
    ["GET", "/metrics"],
  ];
  for (const [method, path] of operatorRoutes) {
    test(`4. es-sync ${method} ${path}: none → 401, a user → 401, the admin → 2xx`, async () => {
      const state = async () =>
        (
          (await (await fetch(`${esSync.url}/reindex`, { headers: as(stack.adminToken) })).json()) as {
            startedAt: string | null;
          }
        ).startedAt;
      const reindexBefore = await state();
      for (const token of [null, attacker.token, "not-a-token-at-all"]) {
        const r = await fetch(`${esSync.url}${path}`, { method, headers: as(token) });
        expect(r.status).toBe(401);
        expect((await problemOf(r)).status).toBe(401);
      }
      // A refused POST /reindex started nothing.
      expect(await state()).toBe(reindexBefore);
      const r = await fetch(`${esSync.url}${path}`, { method, headers: as(stack.adminToken) });
      expect([200, 202, 409]).toContain(r.status);
      if (r.status === 409) expect((await problemOf(r)).detail).toContain("already running");
      await r.body?.cancel();
    });
  }

  test("4. /reconcile with a year-0 or impossible window is a 400 in our words", async () => {
    for (const q of ["from=0000-01-01T00:00:00Z", "to=2026-02-30", "from=2026-02-01&to=2026-01-01", "from=soon"]) {
      const r = await fetch(`${esSync.url}/reconcile?${q}`, { method: "POST", headers: as(stack.adminToken) });
      expect(r.status, q).toBe(400);
      expect((await problemOf(r)).detail).not.toMatch(FOREIGN_TEXT);
    }
  });

  test("4. /metrics on every service: none or a user → 401, admin → 200", async () => {
    for (const svc of [stack.gateway, stack.readApi, stack.processor, esSync, provisioner]) {
      expect((await fetch(`${svc.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${svc.url}/metrics`, { headers: as(attacker.token) })).status).toBe(401);
      const r = await fetch(`${svc.url}/metrics`, { headers: as(stack.adminToken) });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain("process_cpu");
      // /health and /ready stay open.
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);
      expect([200, 503]).toContain((await fetch(`${svc.url}/ready`)).status);
    }
  });

  test("4. a metrics token opens /metrics and nothing else", async () => {
    expect((await fetch(`${fallback.url}/metrics`, { headers: as(METRICS_TOKEN) })).status).toBe(200);
    expect((await fetch(`${fallback.url}/v1/jobs`, { headers: as(METRICS_TOKEN) })).status).toBe(401);
    expect((await fetch(`${stack.readApi.url}/metrics`, { headers: as(METRICS_TOKEN) })).status).toBe(401);
  });
});
