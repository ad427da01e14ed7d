import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

const Url = (fallback: string) => Type.String({ pattern: "^https?://[^/]+$", default: fallback });

export const DashboardEnv = Type.Object({
  A4C_LOG_LEVEL: CommonEnv.A4C_LOG_LEVEL,
  A4C_ADMIN_TOKEN: CommonEnv.A4C_ADMIN_TOKEN,
  A4C_METRICS_TOKEN: CommonEnv.A4C_METRICS_TOKEN,
  A4C_SHUTDOWN_TIMEOUT_MS: CommonEnv.A4C_SHUTDOWN_TIMEOUT_MS,
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3004 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  /** Where writes go (POST, DELETE). */
  A4C_GATEWAY_URL: Url("http://127.0.0.1:3000"),
  /** Where reads go (GET /v1/…, /status/…). */
  A4C_READ_API_URL: Url("http://127.0.0.1:3001"),
  /** The operators' endpoints behind /ops/<service>/…. */
  A4C_PROCESSOR_URL: Url("http://127.0.0.1:3002"),
  A4C_ES_SYNC_URL: Url("http://127.0.0.1:3003"),
  A4C_PROVISIONER_URL: Url("http://127.0.0.1:3005"),
  /** How long an upstream may take to answer with its headers (long-polls wait at most 30 s). */
  A4C_UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 45_000 }),
});
export type DashboardEnv = Static<typeof DashboardEnv>;

export const loadEnv = (env: Record<string, string | undefined> = process.env) => parseEnv(DashboardEnv, env);
