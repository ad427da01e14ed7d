/**
 * Isolation for es-sync tests: per test file a database (clone of the migrated template), a private
 * Debezium B on it (own slot and topic prefix, so its own Kafka topic), its own alias, consumer group
 * and retry/DLQ topics, and es-sync processes started from packages/es-sync/src/main.ts. The
 * launcher's Debezium instances, topics and `jobs` alias are never touched. stop() removes all of it.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createSql, jetstreamManager, type Sql, StreamNames } from "@a4c/shared";
import { Client, HttpConnection } from "@elastic/elasticsearch";
import { connect } from "@nats-io/transport-node";
import { Kafka, logLevel } from "kafkajs";
import { type DebeziumServer, debeziumToKafka } from "../../infra/components/debezium.ts";
import { deleteTopics, KafkaServer } from "../../infra/components/kafka.ts";
import { PostgresServer } from "../../infra/components/postgres.ts";
import { ServiceProcess } from "../../infra/components/service.ts";
import { LOCAL, PORTS, ROOT } from "../../infra/lib/paths.ts";
import { type OpsTarget, operator } from "./ops.ts";
import { freePort } from "./ports.ts";

const TEMPLATE = process.env.A4C_TEST_TEMPLATE_DB ?? "a4c_test_template";
const NATS_URL = process.env.NATS_URL ?? `nats://127.0.0.1:${PORTS.nats}`;

export interface SearchEnv {
  run: string;
  sql: Sql;
  es: Client;
  kafka: Kafka;
  brokers: string[];
  alias: string;
  group: string;
  topic: string;
  debezium: DebeziumServer;
  databaseUrl: string;
  /** The admin token of every read-api this env starts. */
  adminToken: string;
  /** A new es-sync process (not started); `n` keeps the files of several instances apart. */
  esSync(n?: number, env?: Record<string, string>): Promise<ServiceProcess>;
  /**
   * A new read-api (not started) searching this env's alias, on the env's Elasticsearch unless
   * `elasticsearchUrl` names another; no change feed. stop() removes its write streams.
   */
  readApi(label: string, opts?: { elasticsearchUrl?: string; env?: Record<string, string> }): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export interface SearchEnvOptions {
  /** Extra environment for every es-sync process. */
  env?: Record<string, string>;
  /** Another Elasticsearch node than the launcher's (a private one a test may stop). */
  elasticsearchUrl?: string;
  /** Runs on the new database before Debezium starts (with `no_data`, such rows are not streamed). */
  beforeCdc?: (sql: Sql) => Promise<void>;
  snapshotMode?: "initial" | "no_data";
}

export async function startSearchEnv(label: string, opts: SearchEnvOptions = {}): Promise<SearchEnv> {
  const run = randomBytes(4).toString("hex");
  const database = `${label}_${run}`;
  const dir = join(LOCAL, "test", `${label}-${run}`);
  mkdirSync(dir, { recursive: true });
  const postgres = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
  postgres.ensureDatabase(database, TEMPLATE);
  const databaseUrl = `postgres://a4c@127.0.0.1:${PORTS.postgres}/${database}`;
  const sql = createSql(databaseUrl, { max: 4, application: "a4c-test" });
  await opts.beforeCdc?.(sql);
  const brokers = new KafkaServer(join(LOCAL, "kafka")).brokers;
  const elasticsearchUrl = opts.elasticsearchUrl ?? `http://127.0.0.1:${PORTS.elasticsearch}`;
  const debezium = debeziumToKafka({
    dir: join(dir, "debezium"),
    distDir: join(LOCAL, "debezium", "dist"),
    postgresPort: PORTS.postgres,
    database,
    httpPort: await freePort(),
    slot: `a4c_es_${run}`,
    topicPrefix: `est${run}`,
    brokers,
    snapshotMode: opts.snapshotMode,
  });
  await debezium.start(240_000);
  const topic = debezium.destination("job");
  const alias = `jobs_t${run}`;
  const group = `es-sync-t${run}`;
  const es = new Client({ node: elasticsearchUrl, Connection: HttpConnection });
  const kafka = new Kafka({ clientId: `a4c-test-${run}`, brokers, logLevel: logLevel.NOTHING });
  const started: ServiceProcess[] = [];
  const namespaces: string[] = [];
  const adminToken = randomBytes(18).toString("base64url");
  const env = {
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: brokers.join(","),
    ELASTICSEARCH_URL: elasticsearchUrl,
    ES_SYNC_TOPIC: topic,
    ES_SYNC_GROUP: group,
    ES_SYNC_ALIAS: alias,
    ES_SYNC_RETRY_DELAYS_MS: "200,400,800",
    ES_SYNC_SESSION_TIMEOUT_MS: "10000",
    ES_SYNC_RECONCILE_INTERVAL_MS: "0",
    A4C_ADMIN_TOKEN: adminToken,
    A4C_LOG_LEVEL: "info",
    ...opts.env,
  };
  return {
    run,
    sql,
    es,
    kafka,
    brokers,
    alias,
    group,
    topic,
    debezium,
    databaseUrl,
    adminToken,
    async readApi(name, o = {}) {
      const port = await freePort();
      const d = join(dir, `read-api-${name}`);
      mkdirSync(d, { recursive: true });
      const namespace = `t${run}${name}_`;
      namespaces.push(namespace);
      const svc = new ServiceProcess("read-api", ROOT, d, d, port, {
        DATABASE_URL: databaseUrl,
        NATS_URL,
        REDIS_URL: process.env.REDIS_URL ?? `redis://127.0.0.1:${PORTS.redis}`,
        A4C_CDC_ENABLED: "false",
        A4C_NAMESPACE: namespace,
        A4C_ADMIN_TOKEN: adminToken,
        A4C_LOG_LEVEL: "info",
        ELASTICSEARCH_URL: o.elasticsearchUrl ?? elasticsearchUrl,
        A4C_SEARCH_ALIAS: alias,
        PORT: String(port),
        ...o.env,
      });
      started.push(svc);
      return svc;
    },
    async esSync(n = 1, more = {}) {
      const port = await freePort();
      const d = join(dir, `es-sync-${n}`);
      mkdirSync(d, { recursive: true });
      const svc = new ServiceProcess("es-sync", ROOT, d, d, port, { ...env, ...more, PORT: String(port) });
      started.push(svc);
      return svc;
    },
    async stop() {
      // Gracefully, so the members leave their groups and the groups can be deleted below.
      await Promise.all(started.map((svc) => svc.stop().catch(() => {})));
      if (namespaces.length > 0) {
        // Each read-api creates its write streams at boot; each reserves its max_bytes in the shared NATS.
        const nc = await connect({ servers: NATS_URL });
        const jsm = await jetstreamManager(nc);
        for (const ns of namespaces.map((n) => new StreamNames(n))) {
          for (const st of [ns.writes, ns.dlq]) await jsm.streams.delete(st).catch(() => {});
        }
        await nc.close();
      }
      await debezium.stop().catch(() => {});
      await debezium.dropSlot().catch(() => {});
      await removeEsSyncTraces({ kafka, brokers, group, topic, es, alias, more: [debezium.heartbeatDestination] });
      await es.close();
      await sql.end({ timeout: 2 });
      postgres.psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes what an es-sync run leaves in the shared Kafka and Elasticsearch: its consumer groups,
 * its topics (the CDC topic and its retry and DLQ topics, and `more`) and its alias's indices.
 */
export async function removeEsSyncTraces(o: {
  kafka: Kafka;
  brokers: string[];
  group: string;
  topic: string;
  es: Client;
  alias: string;
  more?: string[];
}): Promise<void> {
  const admin = o.kafka.admin();
  await admin.connect();
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(o.group));
  // A member of a killed process lingers until its session times out (10 s here): retry, bounded.
  for (let left = groups, tries = 0; left.length > 0 && tries < 20; tries++) {
    await admin.deleteGroups(left).catch(() => {});
    const now = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
    left = left.filter((g) => now.has(g));
    if (left.length > 0) await Bun.sleep(1_000);
  }
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(o.topic));
  await admin.disconnect();
  await deleteTopics(o.brokers, [...topics, ...(o.more ?? [])]).catch(() => {});
  // Wildcard deletes are refused (destructive_requires_name): resolve the names first.
  const indices = Object.keys(await o.es.indices.get({ index: `${o.alias}-*` }).catch(() => ({})));
  if (indices.length > 0) await o.es.indices.delete({ index: indices }).catch(() => {});
}

/** A user with a workspace, for jobs to belong to. */
export async function owner(sql: Sql, image = "a4c/base:latest"): Promise<{ userId: string; workspaceId: string }> {
  const userId = randomUUID();
  const workspaceId = randomUUID();
  await sql`INSERT INTO users (id, name, email, token_hash)
            VALUES (${userId}, 'Search Test', ${`${userId}@example.com`}, ${Buffer.from(randomBytes(32))})`;
  await sql`INSERT INTO workspace (id, user_id, project_name, image, status)
            VALUES (${workspaceId}, ${userId}, ${`proj-${userId.slice(0, 8)}`}, ${image}, 'CREATING')`;
  return { userId, workspaceId };
}

export async function insertJobs(sql: Sql, o: { userId: string; workspaceId: string }, n = 1): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await sql`INSERT INTO job (id, type, status, user_id, workspace_id, operation_id)
            SELECT id, 'WORKSPACE_CREATE', 'SCHEDULED', ${o.userId}, ${o.workspaceId}, 'op-' || id
              FROM unnest(${ids}::uuid[]) AS t(id)`;
  return ids;
}

/** What Elasticsearch holds for `id` now: the document and its (external) version, or null. */
export async function getDoc(es: Client, alias: string, id: string) {
  const r = await es
    .get<Record<string, unknown>>({ index: alias, id })
    .catch((err: { meta?: { statusCode?: number } }) => {
      if (err.meta?.statusCode === 404) return null;
      throw err;
    });
  return r?.found ? { source: r._source ?? {}, version: r._version ?? 0, seqNo: r._seq_no ?? 0 } : null;
}

/** Every job's version in PostgreSQL and in the alias; equal maps mean nothing missing or stale. */
export async function versionsBoth(sql: Sql, es: Client, alias: string) {
  const pg = new Map(
    (await sql<{ id: string; version: string }[]>`SELECT id::text, version::text FROM job`).map((r) => [
      r.id,
      Number(r.version),
    ]),
  );
  await es.indices.refresh({ index: alias });
  const r = await es.search<{ version: number }>({ index: alias, size: 10_000, _source: ["version"], version: true });
  const idx = new Map(r.hits.hits.map((h) => [h._id ?? "", h._version ?? -1]));
  return { pg, es: idx };
}

export { until } from "./wait.ts";

/** POST an operator endpoint of an es-sync as the admin; the answer, or an error if not 2xx. */
export async function post(svc: OpsTarget, path: string): Promise<Record<string, unknown>> {
  const r = await operator(svc, path, "POST");
  if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface SearchAnswer {
  items: Array<{ id: string; userId: string; createdAt: string; status: string; version: number }>;
  total: number;
  totalRelation: "eq" | "gte";
  facets: { status: Record<string, number>; type: Record<string, number> };
  cursor: string | null;
  source: string;
  degraded: boolean;
  detail?: string;
}

/** GET /v1/jobs on a read-api with `token`. */
export async function search(api: { url: string }, token: string, params: Record<string, string>) {
  const r = await fetch(`${api.url}/v1/jobs?${new URLSearchParams(params)}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: r.status, body: (await r.json()) as SearchAnswer };
}

/** POST /reindex on an es-sync, then follows GET /reindex until the run is done; its result. */
export async function reindexAndWait(
  esSync: OpsTarget,
  timeoutMs = 120_000,
  onProgress?: (status: Record<string, unknown>) => void | Promise<void>,
): Promise<Record<string, unknown>> {
  const started = await operator(esSync, "/reindex", "POST");
  if (started.status !== 202) throw new Error(`POST /reindex: ${started.status} ${JSON.stringify(started.body)}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await operator(esSync, "/reindex")).body;
    await onProgress?.(status);
    if (status.state === "done") return status.result as Record<string, unknown>;
    if (status.state !== "running") throw new Error(`reindex ${status.state}: ${String(status.error)}`);
    if (Date.now() > deadline) throw new Error(`reindex still running after ${timeoutMs} ms`);
    await Bun.sleep(250);
  }
}
