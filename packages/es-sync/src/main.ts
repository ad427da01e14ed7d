import { LISTEN_OPTIONS, ShutdownManager } from "@a4c/shared";
import { opsApp } from "./app.ts";
import { CdcConsumer } from "./cdc-consumer.ts";
import { loadEnv } from "./env.ts";
import { watchOnce } from "./health-watch.ts";
import { every } from "./reconciler.ts";
import { ReindexRunner, reindex } from "./reindex.ts";
import { RetryConsumer } from "./retry-consumer.ts";
import { retryGroupOf } from "./topics.ts";
import { wire } from "./wiring.ts";

const env = loadEnv();
const w = await wire(env, "es-sync");
const { log, metrics } = w;
const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);

const cdc = new CdcConsumer(
  w.kafka,
  {
    topic: env.ES_SYNC_TOPIC,
    groupId: env.ES_SYNC_GROUP,
    concurrency: env.ES_SYNC_CONCURRENCY,
    bulkMax: env.ES_SYNC_BULK_MAX,
    sessionTimeoutMs: env.ES_SYNC_SESSION_TIMEOUT_MS,
  },
  w.sync,
  w.router,
  metrics,
  log.child({ component: "cdc" }),
);
const retries = w.topics.retry.map(
  (r, i) =>
    new RetryConsumer(
      w.kafka,
      r.name,
      retryGroupOf(env.ES_SYNC_GROUP, i),
      w.sync,
      w.router,
      metrics,
      log.child({ component: "retry", topic: r.name }),
      env.ES_SYNC_SESSION_TIMEOUT_MS,
    ),
);
await cdc.start();
for (const r of retries) await r.start();

const stopPoller = every(env.ES_SYNC_POLL_INTERVAL_MS, "poller", log, () =>
  w.reconciler.pollBehind(env.ES_SYNC_POLL_GRACE_MS),
);
const stopReconciler = every(env.ES_SYNC_RECONCILE_INTERVAL_MS, "reconcile", log, () =>
  w.reconciler.reconcile({ from: new Date(Date.now() - env.ES_SYNC_RECONCILE_WINDOW_MS) }),
);
// The gauges the alert rules read: cluster health, group lag, DLQ depth.
const watch = { ...w, groupId: env.ES_SYNC_GROUP, replayGroup: w.dlq.replayGroup };
await watchOnce(watch);
const stopWatch = every(env.ES_SYNC_WATCH_INTERVAL_MS, "watch", log, () => watchOnce(watch));

const reindexer = new ReindexRunner(
  (onProgress) =>
    reindex({ ...w, topic: env.ES_SYNC_TOPIC, groupId: env.ES_SYNC_GROUP, alias: env.ES_SYNC_ALIAS, log, onProgress }),
  log,
);
const ops = opsApp(w, cdc, reindexer, { adminToken: env.A4C_ADMIN_TOKEN, metricsToken: env.A4C_METRICS_TOKEN }).listen({
  port: env.PORT,
  hostname: env.HOST,
  ...LISTEN_OPTIONS,
});

log.info({ event: "es-sync.started", topic: env.ES_SYNC_TOPIC, group: env.ES_SYNC_GROUP, port: env.PORT });

shutdown.register("http", async () => {
  await ops.stop();
});
shutdown.register("timers", async () => {
  await Promise.all([stopPoller(), stopReconciler(), stopWatch()]);
});
// Disconnecting waits for the running batches, which commit their offsets when they finish.
shutdown.register("consumers", async () => {
  await Promise.all([cdc.stop(), ...retries.map((r) => r.stop())]);
});
shutdown.register("close", () => w.close());
shutdown.listen();
