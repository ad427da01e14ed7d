import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

/** Kafka topic names: letters, digits, `.`, `_`, `-` (at most 249). */
const TOPIC_NAME = "^[A-Za-z0-9._-]{1,200}$";

export const CiConsumerEnv = Type.Object({
  A4C_LOG_LEVEL: CommonEnv.A4C_LOG_LEVEL,
  A4C_SHUTDOWN_TIMEOUT_MS: CommonEnv.A4C_SHUTDOWN_TIMEOUT_MS,
  /** Opens /metrics and the DLQ endpoints; also the gateway token when A4C_CI_TOKEN is not set. */
  A4C_ADMIN_TOKEN: CommonEnv.A4C_ADMIN_TOKEN,
  A4C_METRICS_TOKEN: CommonEnv.A4C_METRICS_TOKEN,
  /** The token the build requests are sent with (a `ci` token); the admin token when unset. */
  A4C_CI_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  /** Port of /health, /ready, /metrics and the DLQ endpoints. */
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3006 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  KAFKA_BROKERS: Type.String({ minLength: 1, default: "127.0.0.1:59092" }),
  /** The write-gateway the build requests go to. */
  A4C_GATEWAY_URL: Type.String({ pattern: "^https?://", default: "http://127.0.0.1:3000" }),
  /** The topic CI systems publish build requests to; its DLQ is `<topic>.dlq`. */
  CI_BUILDS_TOPIC: Type.String({ pattern: TOPIC_NAME, default: "ci.builds" }),
  CI_CONSUMER_GROUP: Type.String({ pattern: TOPIC_NAME, default: "a4c-ci-consumer" }),
  /** Partitions worked on at the same time (each one in order). */
  CI_CONSUMER_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 3 }),
  /** First delay before a message the gateway could not take is sent again (doubling). */
  CI_RETRY_BASE_MS: Type.Integer({ minimum: 10, default: 200 }),
  /** Longest delay between two attempts, Retry-After included. */
  CI_RETRY_MAX_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /** Bound on one request to the gateway; a timeout is retried with the same Idempotency-Key. */
  CI_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  CI_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 6_000, default: 30_000 }),
});
export type CiConsumerEnv = Static<typeof CiConsumerEnv>;

export const loadEnv = (env: Record<string, string | undefined> = process.env) => parseEnv(CiConsumerEnv, env);

export const brokersOf = (env: CiConsumerEnv): string[] => env.KAFKA_BROKERS.split(",").map((b) => b.trim());

/** The bearer token build requests are sent with. */
export const gatewayTokenOf = (env: CiConsumerEnv): string => env.A4C_CI_TOKEN ?? env.A4C_ADMIN_TOKEN;
