import { Authenticator, bootService, LISTEN_OPTIONS, natsCheck } from "@a4c/shared";
import { AcceptService } from "./accept.ts";
import { createApp } from "./app.ts";
import { loadEnv } from "./env.ts";
import { gatewayMetrics } from "./metrics.ts";
import { WriteRateLimiter } from "./rate-limit.ts";

const env = loadEnv();
const { log, names, sql, nats, jsm, js, shutdown, closeLast } = await bootService("write-gateway", env);
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
  maxBuildBytes: env.A4C_MAX_BUILD_BYTES,
  minScheduleIntervalS: env.A4C_MIN_SCHEDULE_INTERVAL_S,
  adminToken: env.A4C_ADMIN_TOKEN,
  metricsToken: env.A4C_METRICS_TOKEN,
  defaultImage: env.A4C_DEFAULT_IMAGE,
  tokenSecret: env.A4C_TOKEN_SECRET,
  // Ready means a write can be accepted now: JetStream answers. PostgreSQL is not needed to accept.
  ready: async () => ({ nats: natsCheck(nats) }),
}).listen({ port: env.PORT, hostname: env.HOST, reusePort: true, ...LISTEN_OPTIONS });

log.info({ event: "gateway.listening", port: env.PORT, stream: names.writes });

shutdown.register("http", async () => {
  await app.stop();
});
closeLast();
