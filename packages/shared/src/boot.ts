import type { Static, Type } from "@sinclair/typebox";
import type { CommonEnv } from "./config.ts";
import { createSql, pgErrorCode, type Sql } from "./db/client.ts";
import { createLogger, type Logger } from "./logger.ts";
import { connectNats, jetstream, jetstreamManager, type Nats } from "./nats/connect.ts";
import { DEFAULT_LIMITS, ensureWriteStreams, type StreamLimits, StreamNames } from "./nats/streams.ts";
import { ShutdownManager } from "./shutdown.ts";

type Common = Static<ReturnType<typeof Type.Object<typeof CommonEnv>>>;

/**
 * What every service starts with: its logger, names, PostgreSQL pool, NATS connection (with the
 * write streams ensured) and shutdown manager. Registers closing NATS and PostgreSQL last; the
 * service registers its own steps (stop HTTP, drain consumers) before calling `closeLast()`.
 */
export async function bootService(service: string, env: Common, poolSize = env.DATABASE_POOL_SIZE) {
  const log = createLogger(service, env.A4C_LOG_LEVEL);
  const names = new StreamNames(env.A4C_NAMESPACE);
  const sql = createSql(env.DATABASE_URL, { max: poolSize, application: service });
  const nats = await connectNats(env.NATS_URL, service, log);
  const jsm = await jetstreamManager(nats.nc);
  const limits: StreamLimits = { ...DEFAULT_LIMITS, retentionHours: env.A4C_RETENTION_HOURS };
  await ensureWriteStreams(jsm, names, limits);
  const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);
  return {
    log,
    names,
    sql,
    nats,
    jsm,
    js: jetstream(nats.nc),
    shutdown,
    /** Call after registering the service's own shutdown steps. */
    closeLast(): void {
      shutdown.register("nats", () => nats.nc.drain());
      shutdown.register("postgres", () => sql.end({ timeout: 5 }));
      shutdown.listen();
    },
  };
}

/** Readiness checks shared by the services. */
export async function postgresCheck(sql: Sql): Promise<{ ok: boolean; detail?: unknown }> {
  try {
    await sql`SELECT 1`;
    return { ok: true };
  } catch (err) {
    // /ready is open to anyone: say what kind of failure, never the driver's text.
    return { ok: false, detail: { error: "unreachable", code: pgErrorCode(err) ?? null } };
  }
}

export function natsCheck(nats: Nats): { ok: boolean; detail?: unknown } {
  return { ok: nats.connected, detail: nats.connected ? "connected" : "reconnecting" };
}

export type { Logger };
