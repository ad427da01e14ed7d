import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

export const ReadApiEnv = Type.Object({
  ...CommonEnv,
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3001 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  REDIS_URL: Type.String({ pattern: "^rediss?://", default: "redis://127.0.0.1:56379" }),
  /** Longest `?wait=` a client may ask for, in seconds. */
  A4C_MAX_WAIT_SECONDS: Type.Integer({ minimum: 1, maximum: 240, default: 30 }),
  /** Open live job event streams (GET /v1/jobs/events) one instance serves; more are a 503. */
  A4C_MAX_EVENT_STREAMS: Type.Integer({ minimum: 1, maximum: 100_000, default: 1_000 }),
  /**
   * How often waiting long-polls and event streams check PostgreSQL for completion, in ms, but only
   * while the change feed is not live: they are woken by the processors' announcements and by the
   * ledger's change events.
   */
  A4C_WAIT_POLL_MS: Type.Integer({ minimum: 5, maximum: 5_000, default: 250 }),
  /**
   * Whether a change feed runs. Without one nothing is cached (nothing could invalidate it) and
   * waiters poll PostgreSQL.
   */
  A4C_CDC_ENABLED: Type.Boolean({ default: true }),
  /** The JetStream stream Debezium A writes into. */
  A4C_CDC_STREAM: Type.String({ minLength: 1, default: "DebeziumStream" }),
  /** Debezium's topic.prefix: change subjects are `<prefix>.public.<table>`. */
  A4C_CDC_PREFIX: Type.String({ pattern: "^[A-Za-z0-9_-]+$", default: "cdc" }),
  /**
   * This instance's name, for its durable consumer (every instance reads every change). Stable
   * across restarts so a restart resumes; defaults to host and port.
   */
  A4C_INSTANCE_ID: Type.String({ default: "" }),
  /** Beyond this change-data lag or silence, cached values are bypassed and /ready fails (ms). */
  A4C_CDC_MAX_LAG_MS: Type.Integer({ minimum: 1_000, default: 15_000 }),
  /** Longest life of a cached value, changed or not (seconds). */
  A4C_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, default: 300 }),
  /** Job search (GET /v1/jobs): the Elasticsearch node and the alias es-sync keeps up to date. */
  ELASTICSEARCH_URL: Type.String({ pattern: "^https?://", default: "http://127.0.0.1:59200" }),
  A4C_SEARCH_ALIAS: Type.String({ pattern: "^[a-z0-9_-]+$", default: "jobs" }),
  /** Longest wait for Elasticsearch before the PostgreSQL fallback answers (ms). */
  A4C_SEARCH_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 60_000, default: 2_000 }),
  /** The breaker opens at this failure share (0–1) of the calls within the window… */
  A4C_SEARCH_BREAKER_FAILURE_RATE: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5 }),
  /** …once the window holds at least this many calls… */
  A4C_SEARCH_BREAKER_MIN_VOLUME: Type.Integer({ minimum: 1, default: 5 }),
  A4C_SEARCH_BREAKER_WINDOW_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /** …and lets one probe through after this long open (ms). */
  A4C_SEARCH_BREAKER_OPEN_MS: Type.Integer({ minimum: 50, default: 5_000 }),
  /**
   * The PostgreSQL fallback counts totals and facets in full if that takes at most
   * A4C_SEARCH_FALLBACK_COUNT_BUDGET_MS; else it counts up to this many matches exactly, and
   * beyond them answers a lower bound (`totalRelation: "gte"`) without facets.
   */
  A4C_SEARCH_FALLBACK_EXACT_UP_TO: Type.Integer({ minimum: 1, default: 10_000 }),
  /** …and tries the full count only when the planner expects at most this many matches. */
  A4C_SEARCH_FALLBACK_FULL_COUNT_UP_TO: Type.Integer({ minimum: 0, default: 100_000 }),
  A4C_SEARCH_FALLBACK_COUNT_BUDGET_MS: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  /** Connections of the fallback's own PostgreSQL pool (entity and status reads keep theirs). */
  A4C_SEARCH_FALLBACK_POOL: Type.Integer({ minimum: 1, maximum: 50, default: 4 }),
});
export type ReadApiEnv = Static<typeof ReadApiEnv>;

export const loadEnv = (env = process.env) => parseEnv(ReadApiEnv, env);
