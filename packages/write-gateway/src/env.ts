import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

export const GatewayEnv = Type.Object({
  ...CommonEnv,
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3000 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  A4C_TOKEN_SECRET: Type.String({ minLength: 16 }),
  /** Largest accepted request body, in bytes. */
  A4C_MAX_BODY_BYTES: Type.Integer({ minimum: 256, default: 16_384 }),
  /** Sustained writes per second per token, and the burst above it. */
  A4C_RATE_LIMIT_PER_SEC: Type.Integer({ minimum: 1, default: 200 }),
  A4C_RATE_LIMIT_BURST: Type.Integer({ minimum: 0, default: 400 }),
  /** How long to wait for JetStream to acknowledge a stored request before answering 503. */
  A4C_PUBLISH_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 3_000 }),
  /**
   * Largest build context (Dockerfile and files, decoded): 400 beyond it. The body may be a quarter
   * larger (JSON escapes) before it is 413; both stay below NATS's 1 MB message limit.
   */
  A4C_MAX_BUILD_BYTES: Type.Integer({ minimum: 1024, maximum: 655_360, default: 524_288 }),
  /** Shortest time between two ticks of a build schedule. */
  A4C_MIN_SCHEDULE_INTERVAL_S: Type.Integer({ minimum: 1, default: 300 }),
  /** Default workspace image when a request names none. */
  A4C_DEFAULT_IMAGE: Type.String({ minLength: 1, default: "a4c/base:latest" }),
});
export type GatewayEnv = Static<typeof GatewayEnv>;

export const loadEnv = (env = process.env) => parseEnv(GatewayEnv, env);
