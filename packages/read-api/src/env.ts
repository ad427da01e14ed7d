import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

export const ReadApiEnv = Type.Object({
  ...CommonEnv,
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3001 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  REDIS_URL: Type.String({ pattern: "^rediss?://", default: "redis://127.0.0.1:56379" }),
  A4C_ADMIN_TOKEN: Type.String({ minLength: 16 }),
  /** Longest `?wait=` a client may ask for, in seconds. */
  A4C_MAX_WAIT_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 30 }),
  /**
   * How often waiting long-polls and event streams check PostgreSQL for completion, in ms. They
   * are woken at once by the processors' announcements; this only bounds a missed one.
   */
  A4C_WAIT_POLL_MS: Type.Integer({ minimum: 5, maximum: 5_000, default: 250 }),
});
export type ReadApiEnv = Static<typeof ReadApiEnv>;

export const loadEnv = (env = process.env) => parseEnv(ReadApiEnv, env);
