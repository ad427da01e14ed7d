import { createLogger, LISTEN_OPTIONS, ShutdownManager } from "@a4c/shared";
import { createApp } from "./app.ts";
import { buildAssets } from "./assets.ts";
import { loadEnv } from "./env.ts";
import { dashboardMetrics } from "./metrics.ts";

const env = loadEnv();
const log = createLogger("dashboard", env.A4C_LOG_LEVEL);
const started = performance.now();
const assets = await buildAssets();
const app = createApp({
  log,
  metrics: dashboardMetrics(),
  assets,
  urls: {
    gateway: env.A4C_GATEWAY_URL,
    readApi: env.A4C_READ_API_URL,
    processor: env.A4C_PROCESSOR_URL,
    esSync: env.A4C_ES_SYNC_URL,
    provisioner: env.A4C_PROVISIONER_URL,
  },
  timeoutMs: env.A4C_UPSTREAM_TIMEOUT_MS,
  adminToken: env.A4C_ADMIN_TOKEN,
  metricsToken: env.A4C_METRICS_TOKEN,
}).listen({ port: env.PORT, hostname: env.HOST, ...LISTEN_OPTIONS });
log.info({
  event: "dashboard.started",
  port: env.PORT,
  scriptBytes: assets["/app.js"]?.body.length,
  buildMs: Math.round(performance.now() - started),
});

const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);
shutdown.register("http", async () => {
  await app.stop();
});
shutdown.listen();
