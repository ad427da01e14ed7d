import {
  Authenticator,
  connectNats,
  createLogger,
  createSql,
  jetstreamManager,
  ShutdownManager,
  StreamNames,
} from "@a4c/shared";
import { createApp } from "./app.ts";
import { ReadCache } from "./cache.ts";
import { EntityService } from "./entities.ts";
import { loadEnv } from "./env.ts";
import { readMetrics } from "./metrics.ts";
import { CompletionWaiters, StatusService } from "./status.ts";

const env = loadEnv();
const log = createLogger("read-api", env.A4C_LOG_LEVEL);
const names = new StreamNames(env.A4C_NAMESPACE);
const metrics = readMetrics();

const sql = createSql(env.DATABASE_URL, { max: env.DATABASE_POOL_SIZE, application: "read-api" });
const nats = await connectNats(env.NATS_URL, "read-api", log);
const nc = nats.nc;
const jsm = await jetstreamManager(nc);
const cache = new ReadCache(env.REDIS_URL, `a4c:${env.A4C_NAMESPACE}`, log, metrics.cacheErrors);
const waiters = new CompletionWaiters(sql, env.A4C_WAIT_POLL_MS);

const app = createApp({
  auth: new Authenticator(env.A4C_ADMIN_TOKEN, sql),
  status: new StatusService(sql, jsm, names, cache, metrics),
  waiters,
  entities: new EntityService(sql),
  metrics,
  log,
  maxWaitSeconds: env.A4C_MAX_WAIT_SECONDS,
  // Reads are served while PostgreSQL and NATS answer; Redis only makes them faster.
  ready: async () => {
    const checks: Record<string, { ok: boolean; detail?: unknown }> = {};
    try {
      await sql`SELECT 1`;
      checks.postgres = { ok: true };
    } catch (err) {
      checks.postgres = { ok: false, detail: String(err) };
    }
    checks.nats = { ok: nats.connected, detail: nc.getServer() };
    checks.redis = { ok: true, detail: cache.connected ? "connected" : "down: reads fall back to PostgreSQL" };
    return checks;
  },
}).listen({ port: env.PORT, hostname: env.HOST });

log.info({ event: "read_api.listening", port: env.PORT });

const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);
shutdown.register("http", async () => {
  waiters.stop();
  await app.stop();
});
shutdown.register("redis", () => cache.close());
shutdown.register("nats", () => nc.drain());
shutdown.register("postgres", () => sql.end({ timeout: 5 }));
shutdown.listen();
