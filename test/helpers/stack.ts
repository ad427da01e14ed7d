/**
 * Test isolation: every test file gets its own database (cloned from a migrated template), its
 * own stream/consumer/key namespace, and its own service processes on free ports, against the
 * infrastructure the launcher started — or against private PostgreSQL/NATS instances that a
 * fault test may stop and kill without disturbing anyone else.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createSql, jetstream, jetstreamManager, migrate, type Sql, StreamNames } from "@a4c/shared";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { LOCAL, NatsServer, PORTS, PostgresServer, RedisServer, ROOT, ServiceProcess } from "../../infra/index.ts";
import { freePort } from "./ports.ts";

export interface StackOptions {
  /** Which services to run; all by default. */
  services?: Array<"write-gateway" | "write-processor" | "read-api">;
  /** Extra environment per service. */
  env?: Record<string, string>;
  /** An existing database (e.g. one a search env made, with its own Debezium) instead of a new clone. */
  databaseUrl?: string;
  /** Use private instances instead of the launcher's shared ones. */
  postgres?: PostgresServer;
  nats?: NatsServer;
  redis?: RedisServer;
  /**
   * The change feed the read-api invalidates its cache from (a private Debezium's stream and topic
   * prefix, see helpers/cdc.ts). Without it the read-api runs with no feed: it caches nothing.
   */
  cdc?: { stream: string; prefix: string };
}

export interface TestStack {
  namespace: string;
  adminToken: string;
  databaseUrl: string;
  natsUrl: string;
  sql: Sql;
  nc: NatsConnection;
  names: StreamNames;
  gateway: ServiceProcess;
  processor: ServiceProcess;
  readApi: ServiceProcess;
  dir: string;
  stop(): Promise<void>;
}

const TEMPLATE = process.env.A4C_TEST_TEMPLATE_DB ?? "a4c_test_template";

function sharedPostgres(): PostgresServer {
  return new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
}

/** A private PostgreSQL, initialised and migrated; for tests that stop it. */
export async function privatePostgres(label: string): Promise<PostgresServer> {
  const dir = join(LOCAL, "test", `${label}-pg-${randomBytes(3).toString("hex")}`);
  const pg = new PostgresServer(dir, await freePort());
  await pg.start();
  pg.ensureDatabase("a4c");
  return pg;
}

export async function privateNats(label: string): Promise<NatsServer> {
  const dir = join(LOCAL, "test", `${label}-nats-${randomBytes(3).toString("hex")}`);
  const nats = new NatsServer(dir, await freePort(), await freePort());
  await nats.start();
  return nats;
}

/** A private Redis; for tests that stop it. */
export async function privateRedis(label: string): Promise<RedisServer> {
  const dir = join(LOCAL, "test", `${label}-redis-${randomBytes(3).toString("hex")}`);
  const redis = new RedisServer(dir, await freePort());
  await redis.start();
  return redis;
}

export async function startStack(label: string, opts: StackOptions = {}): Promise<TestStack> {
  const namespace = `t${randomBytes(4).toString("hex")}_`;
  const dir = join(LOCAL, "test", `${label}-${namespace}`);
  mkdirSync(dir, { recursive: true });
  let databaseUrl: string;
  if (opts.databaseUrl) {
    databaseUrl = opts.databaseUrl;
  } else if (opts.postgres) {
    databaseUrl = `postgres://a4c@127.0.0.1:${opts.postgres.port}/a4c`;
    const migrator = createSql(databaseUrl, { max: 1 });
    await migrate(migrator);
    await migrator.end();
  } else {
    const db = `${label.replace(/[^a-z0-9]/g, "_")}_${namespace}`.slice(0, 60);
    sharedPostgres().ensureDatabase(db, TEMPLATE);
    databaseUrl = `postgres://a4c@127.0.0.1:${PORTS.postgres}/${db}`;
  }
  const natsUrl = opts.nats
    ? `nats://127.0.0.1:${opts.nats.port}`
    : (process.env.NATS_URL ?? `nats://127.0.0.1:${PORTS.nats}`);
  const adminToken = randomBytes(18).toString("base64url");
  const common = {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    REDIS_URL: opts.redis
      ? `redis://127.0.0.1:${opts.redis.port}`
      : (process.env.REDIS_URL ?? `redis://127.0.0.1:${PORTS.redis}`),
    A4C_CDC_ENABLED: opts.cdc ? "true" : "false",
    A4C_CDC_STREAM: opts.cdc?.stream ?? "DebeziumStream",
    A4C_CDC_PREFIX: opts.cdc?.prefix ?? "cdc",
    A4C_NAMESPACE: namespace,
    A4C_ADMIN_TOKEN: adminToken,
    A4C_TOKEN_SECRET: randomBytes(18).toString("base64url"),
    A4C_LOG_LEVEL: "info",
    A4C_RATE_LIMIT_PER_SEC: "100000",
    A4C_RATE_LIMIT_BURST: "100000",
    ...opts.env,
  };
  const make = async (name: string) => {
    const port = await freePort();
    return new ServiceProcess(name, ROOT, dir, dir, port, { ...common, PORT: String(port) });
  };
  const processor = await make("write-processor");
  const gateway = await make("write-gateway");
  const readApi = await make("read-api");
  const wanted = opts.services ?? ["write-processor", "write-gateway", "read-api"];
  // The processor creates the streams and consumers; start it first when it runs at all.
  for (const svc of [processor, gateway, readApi]) if (wanted.includes(svc.name as never)) await svc.start();
  const sql = createSql(databaseUrl, { max: 4, application: "a4c-test" });
  const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  const names = new StreamNames(namespace);
  return {
    namespace,
    adminToken,
    databaseUrl,
    natsUrl,
    sql,
    nc,
    names,
    gateway,
    processor,
    readApi,
    dir,
    async stop() {
      await Promise.all([gateway.stop(), processor.stop(), readApi.stop()]);
      await sql.end({ timeout: 2 }).catch(() => {});
      await nc.close().catch(() => {});
      // Leave nothing behind in the shared NATS server.
      if (!opts.nats) await deleteStreams(natsUrl, names).catch(() => {});
      if (!process.env.A4C_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function deleteStreams(natsUrl: string, names: StreamNames): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  for (const s of [names.writes, names.dlq]) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
}

/** A log file's JSON lines, for asserting on what a service reported. */
export function serviceLog(svc: ServiceProcess): Array<Record<string, unknown>> {
  return readFileSync(svc.logFile, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export { jetstream, jetstreamManager };
