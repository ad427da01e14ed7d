import { Authenticator, bootService, natsCheck, postgresCheck } from "@a4c/shared";
import { createApp } from "./app.ts";
import { ReadCache } from "./cache.ts";
import { EntityService } from "./entities.ts";
import { loadEnv } from "./env.ts";
import { readMetrics } from "./metrics.ts";
import { CompletionWaiters, StatusService } from "./status.ts";

const env = loadEnv();
const { log, names, sql, nats, jsm, shutdown, closeLast } = await bootService("read-api", env);
const metrics = readMetrics();
const cache = new ReadCache(env.REDIS_URL, `a4c:${env.A4C_NAMESPACE}`, log, metrics.cacheErrors);
const waiters = new CompletionWaiters(sql, env.A4C_WAIT_POLL_MS);
nats.nc.subscribe(names.operationsSettled, {
  callback: (err, msg) => {
    if (err) return;
    try {
      waiters.wake(msg.json<string[]>());
    } catch {
      log.warn({ event: "settled.unreadable", subject: msg.subject });
    }
  },
});

const app = createApp({
  auth: new Authenticator(env.A4C_ADMIN_TOKEN, sql),
  status: new StatusService(sql, jsm, names, cache, metrics),
  waiters,
  entities: new EntityService(sql),
  metrics,
  log,
  maxWaitSeconds: env.A4C_MAX_WAIT_SECONDS,
  // Reads are served while PostgreSQL and NATS answer; Redis only makes them faster.
  ready: async () => ({
    postgres: await postgresCheck(sql),
    nats: natsCheck(nats),
    redis: { ok: true, detail: cache.connected ? "connected" : "down: reads fall back to PostgreSQL" },
  }),
}).listen({ port: env.PORT, hostname: env.HOST });

log.info({ event: "read_api.listening", port: env.PORT });

shutdown.register("http", async () => {
  waiters.stop();
  await app.stop();
});
shutdown.register("redis", () => cache.close());
closeLast();
