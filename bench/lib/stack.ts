/**
 * The benchmark's own copy of the write path: a fresh database, a namespace of its own in the
 * launcher's NATS, and its own gateway, processor and read-api on ports 3100-3199, so it never
 * touches `npm start`'s services or a test's, and leaves nothing behind.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createSql, migrate, type Sql, StreamNames } from "@a4c/shared";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { LOCAL, PORTS, portOpen, ROOT, ServiceProcess } from "../../infra/index.ts";
import { say } from "./stats.ts";

export interface BenchStack {
  namespace: string;
  database: string;
  databaseUrl: string;
  pgPort: number;
  natsUrl: string;
  dir: string;
  ports: { gateway: number; readApi: number; processor: number; baseline: number };
  sql: Sql;
  nc: NatsConnection;
  jsm: JetStreamManager;
  names: StreamNames;
  adminToken: string;
  gateway: ServiceProcess;
  processor: ServiceProcess;
  readApi: ServiceProcess;
  user: { id: string; token: string };
}

/** Four free ports in 3100-3199: `npm start` owns 3000-3002 and tests take ephemeral ones. */
async function freeBenchPorts(): Promise<number[]> {
  const found: number[] = [];
  for (let p = 3100; p <= 3199 && found.length < 4; p++) if (!(await portOpen(p))) found.push(p);
  if (found.length < 4) throw new Error("fewer than four free ports in 3100-3199");
  return found;
}

/** The benchmark floods what it talks to: make sure that is this machine. */
function requireLoopback(name: string, url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  if (!["127.0.0.1", "localhost", "::1"].includes(host))
    throw new Error(`${name} must point at 127.0.0.1, not ${host}`);
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Runs on the server's maintenance database; CREATE/DROP DATABASE cannot run in the bench db. */
async function onMaintenanceDb(baseUrl: string, statement: string): Promise<void> {
  const admin = createSql(withDatabase(baseUrl, "postgres"), { max: 1, application: "a4c-bench" });
  try {
    await admin.unsafe(statement);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * What `stopStack` must undo, registered as setup proceeds so a failure half-way still cleans
 * up. Steps run in this order whatever order they were registered in: services before the
 * streams and the database they use, connections before the database is dropped.
 */
const ORDER = ["service", "streams", "connection", "database"] as const;
const cleanup: Array<{ kind: (typeof ORDER)[number]; what: string; run: () => Promise<unknown> }> = [];

/** Lets a phase register what it created (a throwaway stream, a child server) for the way out. */
export function onCleanup(kind: (typeof ORDER)[number], what: string, run: () => Promise<unknown>): void {
  cleanup.push({ kind, what, run });
}

export async function startStack(): Promise<BenchStack> {
  const id = Date.now();
  const namespace = `bench${id}_`;
  const database = `bench_${id}`;
  const baseUrl = process.env.DATABASE_URL ?? `postgres://a4c@127.0.0.1:${PORTS.postgres}/a4c`;
  const natsUrl = process.env.NATS_URL ?? `nats://127.0.0.1:${PORTS.nats}`;
  const redisUrl = process.env.REDIS_URL ?? `redis://127.0.0.1:${PORTS.redis}`;
  for (const [name, url] of Object.entries({ DATABASE_URL: baseUrl, NATS_URL: natsUrl, REDIS_URL: redisUrl })) {
    for (const one of url.split(",")) requireLoopback(name, one);
  }
  const dir = join(LOCAL, "bench", namespace);
  mkdirSync(dir, { recursive: true });
  const [gatewayPort, readApiPort, processorPort, baselinePort] = (await freeBenchPorts()) as [
    number,
    number,
    number,
    number,
  ];

  say(`namespace ${namespace}, database ${database}, ports ${gatewayPort}-${baselinePort}, logs in ${dir}`);
  await onMaintenanceDb(baseUrl, `CREATE DATABASE "${database}"`);
  cleanup.push({
    kind: "database",
    what: `drop database ${database}`,
    run: () => onMaintenanceDb(baseUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`),
  });
  const databaseUrl = withDatabase(baseUrl, database);
  const sql = createSql(databaseUrl, { max: 4, application: "a4c-bench" });
  cleanup.push({ kind: "connection", what: "close bench sql", run: () => sql.end({ timeout: 5 }) });
  const applied = await migrate(sql);
  say(`migrated ${database}: ${applied.join(", ")}`);

  const nc = await connect({ servers: natsUrl, name: "a4c-bench" });
  const names = new StreamNames(namespace);
  const jsm = await jetstreamManager(nc);
  cleanup.push({ kind: "connection", what: "close nats", run: () => nc.close() });
  // Registered before the services start, which create these streams.
  cleanup.push({
    kind: "streams",
    what: "delete the namespace's streams",
    run: async () => {
      for (const s of [names.writes, names.dlq]) await jsm.streams.delete(s).catch(() => false);
    },
  });

  const adminToken = randomBytes(24).toString("base64url");
  const common = {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    REDIS_URL: redisUrl,
    A4C_NAMESPACE: namespace,
    A4C_ADMIN_TOKEN: adminToken,
    A4C_TOKEN_SECRET: randomBytes(24).toString("base64url"),
    A4C_LOG_LEVEL: "warn",
    // The benchmark measures capacity, not the per-token limit: set it far above any rate reached.
    A4C_RATE_LIMIT_PER_SEC: "100000000",
    A4C_RATE_LIMIT_BURST: "100000000",
  };
  const service = (name: string, port: number) =>
    new ServiceProcess(name, ROOT, dir, dir, port, { ...common, PORT: String(port) });
  const processor = service("write-processor", processorPort);
  const gateway = service("write-gateway", gatewayPort);
  const readApi = service("read-api", readApiPort);
  for (const svc of [readApi, gateway, processor])
    cleanup.push({ kind: "service", what: `stop ${svc.name}`, run: () => svc.stop() });
  // The processor creates the streams and durable consumers, so it goes first.
  for (const svc of [processor, gateway, readApi]) {
    const t = performance.now();
    await svc.start(60_000);
    say(`${svc.name} ready on ${svc.port} (pid ${svc.pid}) in ${Math.round(performance.now() - t)} ms`);
  }

  const stack = {
    namespace,
    database,
    databaseUrl,
    pgPort: Number(new URL(databaseUrl).port || 5432),
    natsUrl,
    dir,
    ports: { gateway: gatewayPort, readApi: readApiPort, processor: processorPort, baseline: baselinePort },
    sql,
    nc,
    jsm,
    names,
    adminToken,
    gateway,
    processor,
    readApi,
    user: { id: "", token: "" },
  };
  stack.user = await createUser(stack);
  say(`user ${stack.user.id} created through the API`);
  await createScratchTables(sql);
  return stack;
}

/** POST /v1/users with the admin token, then long-poll its status until the user exists. */
async function createUser(
  s: Pick<BenchStack, "gateway" | "readApi" | "adminToken">,
): Promise<{ id: string; token: string }> {
  const auth = { authorization: `Bearer ${s.adminToken}` };
  const r = await fetch(`${s.gateway.url}/v1/users`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json", "idempotency-key": `bench-user-${Date.now()}` },
    body: JSON.stringify({ name: "Bench User", email: `bench-${Date.now()}@example.com` }),
  });
  const accepted = (await r.json()) as { operationId: string; userId: string; token: string };
  if (r.status !== 202) throw new Error(`creating the bench user: ${r.status} ${JSON.stringify(accepted)}`);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const st = await fetch(`${s.readApi.url}/status/${accepted.operationId}?wait=5`, { headers: auth });
    const body = (await st.json()) as { status: string };
    if (body.status === "completed") return { id: accepted.userId, token: accepted.token };
    if (body.status === "failed") throw new Error(`bench user creation failed: ${JSON.stringify(body)}`);
  }
  throw new Error("bench user was not created within 30 s");
}

/**
 * Copies of the three tables a workspace create writes (with their indexes, constraints and
 * foreign keys), for pgbench and the baseline server, so they do the same work as the processor.
 */
async function createScratchTables(sql: Sql): Promise<void> {
  await sql.unsafe(`
    CREATE TABLE pgb_ops (LIKE write_operations INCLUDING ALL);
    CREATE TABLE pgb_ws (LIKE workspace INCLUDING ALL);
    CREATE TABLE pgb_job (LIKE job INCLUDING ALL);
    ALTER TABLE pgb_ws ADD FOREIGN KEY (user_id) REFERENCES users (id);
    ALTER TABLE pgb_job ADD FOREIGN KEY (user_id) REFERENCES users (id);
    ALTER TABLE pgb_job ADD FOREIGN KEY (workspace_id) REFERENCES pgb_ws (id);
  `);
}

/** Undoes everything in reverse order; each step is attempted even if an earlier one failed. */
export async function stopStack(keepLogsIn?: string): Promise<void> {
  const steps = cleanup.splice(0).sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      say(`cleanup: ${step.what} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (keepLogsIn) say(`service logs kept in ${keepLogsIn}`);
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Progress {
  streamMessages: number;
  pending: number;
  ackPending: number;
}

/** Where the workspace consumer is: every workspace write is in the one stream. */
export async function progress(s: BenchStack): Promise<Progress> {
  const [stream, consumer] = await Promise.all([
    s.jsm.streams.info(s.names.writes),
    s.jsm.consumers.info(s.names.writes, s.names.processorDurable("workspaces")),
  ]);
  return { streamMessages: stream.state.messages, pending: consumer.num_pending, ackPending: consumer.num_ack_pending };
}

export async function ledgerRows(s: BenchStack): Promise<number> {
  const [row] = await s.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM write_operations`;
  return row?.n ?? 0;
}

/**
 * Waits until the processor has acknowledged every message and the ledger holds a row for each
 * one (acks follow commits, so both must agree). Returns when that was seen, in epoch ms.
 */
export async function waitDrained(s: BenchStack, timeoutMs: number, onTick?: (p: Progress) => void): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let lastTick = 0;
  for (;;) {
    const p = await progress(s);
    if (p.pending === 0 && p.ackPending === 0 && (await ledgerRows(s)) >= p.streamMessages) return Date.now();
    if (Date.now() > deadline) throw new Error(`processor did not drain within ${timeoutMs} ms (${JSON.stringify(p)})`);
    if (onTick && Date.now() - lastTick > 2_000) {
      lastTick = Date.now();
      onTick(p);
    }
    await Bun.sleep(25);
  }
}
