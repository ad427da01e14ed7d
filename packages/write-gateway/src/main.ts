import {
  Authenticator,
  connectNats,
  createLogger,
  createSql,
  ensureWriteStreams,
  jetstream,
  jetstreamManager,
  ShutdownManager,
  StreamNames,
} from "@a4c/shared";
import { AcceptService } from "./accept.ts";
import { createApp } from "./app.ts";
import { loadEnv } from "./env.ts";
import { gatewayMetrics } from "./metrics.ts";
import { WriteRateLimiter } from "./rate-limit.ts";

const env = loadEnv();
const log = createLogger("write-gateway", env.A4C_LOG_LEVEL);
const names = new StreamNames(env.A4C_NAMESPACE);
const limits = { retentionHours: env.A4C_RETENTION_HOURS, maxBytes: 2 * 1024 ** 3, duplicateWindowMs: 120_000 };

const sql = createSql(env.DATABASE_URL, { max: env.DATABASE_POOL_SIZE, application: "write-gateway" });
const nats = await connectNats(env.NATS_URL, "write-gateway", log);
const nc = nats.nc;
const jsm = await jetstreamManager(nc);
await ensureWriteStreams(jsm, names, limits);
const js = jetstream(nc);
const metrics = gatewayMetrics();

const app = createApp({
  auth: new Authenticator(env.A4C_ADMIN_TOKEN, sql),
  accept: new AcceptService(
    js,
    jsm,
    names,
    env.A4C_TOKEN_SECRET,
    env.A4C_PUBLISH_TIMEOUT_MS,
    log,
    () => nats.connected,
  ),
  limiter: new WriteRateLimiter(env.A4C_RATE_LIMIT_PER_SEC, env.A4C_RATE_LIMIT_BURST),
  metrics,
  log,
  maxBodyBytes: env.A4C_MAX_BODY_BYTES,
  defaultImage: env.A4C_DEFAULT_IMAGE,
  tokenSecret: env.A4C_TOKEN_SECRET,
  // Ready means a write can be accepted now: JetStream answers. PostgreSQL is not needed to accept.
  ready: async () => {
    if (!nats.connected) return { jetstream: { ok: false, detail: "reconnecting to NATS" } };
    try {
      await jsm.streams.info(names.writes);
      return { jetstream: { ok: true } };
    } catch (err) {
      return { jetstream: { ok: false, detail: String(err) } };
    }
  },
}).listen({ port: env.PORT, hostname: env.HOST, maxRequestBodySize: 1024 * 1024 });

log.info({ event: "gateway.listening", port: env.PORT, stream: names.writes });

const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);
shutdown.register("http", async () => {
  await app.stop();
});
shutdown.register("nats", () => nc.drain());
shutdown.register("postgres", () => sql.end({ timeout: 5 }));
shutdown.listen();
