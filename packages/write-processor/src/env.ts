import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

export const ProcessorEnv = Type.Object({
  ...CommonEnv,
  /** Port of /health, /ready and /metrics. */
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3002 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  /** Most messages applied in one PostgreSQL transaction. */
  A4C_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 2000, default: 256 }),
  /** Deliveries of a message that keeps failing (not for outages) before it is given up. */
  A4C_MAX_DELIVERIES: Type.Integer({ minimum: 1, default: 8 }),
  A4C_ACK_WAIT_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  A4C_PURGE_INTERVAL_MS: Type.Integer({ minimum: 1000, default: 600_000 }),
  /** The image every host has (the gateway's default); any other workspace image must be a READY build. */
  A4C_DEFAULT_IMAGE: Type.String({ minLength: 1, default: "a4c/base:latest" }),
});
export type ProcessorEnv = Static<typeof ProcessorEnv>;

export const loadEnv = (env = process.env) => parseEnv(ProcessorEnv, env);
