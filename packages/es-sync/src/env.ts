import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

const csvOfPositiveInts = "^[0-9]+(,[0-9]+)*$";

export const EsSyncEnv = Type.Object({
  A4C_LOG_LEVEL: CommonEnv.A4C_LOG_LEVEL,
  DATABASE_URL: CommonEnv.DATABASE_URL,
  A4C_SHUTDOWN_TIMEOUT_MS: CommonEnv.A4C_SHUTDOWN_TIMEOUT_MS,
  A4C_ADMIN_TOKEN: CommonEnv.A4C_ADMIN_TOKEN,
  A4C_METRICS_TOKEN: CommonEnv.A4C_METRICS_TOKEN,
  /** Port of /health, /ready, /metrics and the DLQ/reconcile/reindex endpoints. */
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3003 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  KAFKA_BROKERS: Type.String({ minLength: 1, default: "127.0.0.1:59092" }),
  ELASTICSEARCH_URL: Type.String({ pattern: "^https?://", default: "http://127.0.0.1:59200" }),
  /** The CDC topic Debezium B writes; retry and DLQ topics are named after it. */
  ES_SYNC_TOPIC: Type.String({ minLength: 1, default: "cdc.public.job" }),
  ES_SYNC_GROUP: Type.String({ minLength: 1, default: "es-sync" }),
  /** The alias readers and writers use; tests give each run its own. */
  ES_SYNC_ALIAS: Type.String({ pattern: "^[a-z0-9][a-z0-9_.-]*$", default: "jobs" }),
  /** Delays of the retry topics, in order; after the last one a document goes to the DLQ. */
  ES_SYNC_RETRY_DELAYS_MS: Type.String({ pattern: csvOfPositiveInts, default: "1000,10000,60000" }),
  /** Kafka partitions of the CDC topic one instance works on at the same time. */
  ES_SYNC_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 3 }),
  /** Most jobs in one bulk request. */
  ES_SYNC_BULK_MAX: Type.Integer({ minimum: 1, maximum: 10_000, default: 1_000 }),
  /**
   * How often Elasticsearch makes new writes searchable (the index's refresh_interval, applied at
   * boot and after a reindex). Most of the commit → searchable lag; shorter costs more merging.
   */
  ES_SYNC_REFRESH_INTERVAL: Type.String({ pattern: "^[1-9][0-9]*(ms|s)$", default: "500ms" }),
  ES_SYNC_POLL_INTERVAL_MS: Type.Integer({ minimum: 0, default: 30_000 }),
  /** How long a committed version may stay unindexed before the poller re-syncs it. */
  ES_SYNC_POLL_GRACE_MS: Type.Integer({ minimum: 0, default: 30_000 }),
  /** 0 turns the periodic reconciler off (it still runs on demand). */
  ES_SYNC_RECONCILE_INTERVAL_MS: Type.Integer({ minimum: 0, default: 600_000 }),
  ES_SYNC_RECONCILE_WINDOW_MS: Type.Integer({ minimum: 1_000, default: 3_600_000 }),
  /** How often cluster health, group lag and DLQ depth are read into gauges (0: never). */
  ES_SYNC_WATCH_INTERVAL_MS: Type.Integer({ minimum: 0, default: 15_000 }),
  ES_SYNC_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 6_000, default: 30_000 }),
});
export type EsSyncEnv = Static<typeof EsSyncEnv>;

export const loadEnv = (env: Record<string, string | undefined> = process.env) => parseEnv(EsSyncEnv, env);

export const brokersOf = (env: EsSyncEnv): string[] => env.KAFKA_BROKERS.split(",").map((b) => b.trim());
export const retryDelaysOf = (env: EsSyncEnv): number[] => env.ES_SYNC_RETRY_DELAYS_MS.split(",").map(Number);
