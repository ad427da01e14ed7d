import { LISTEN_OPTIONS, ShutdownManager } from "@a4c/shared";
import { opsApp } from "./app.ts";
import { BuildConsumer } from "./consumer.ts";
import { loadEnv } from "./env.ts";
import { wire } from "./wiring.ts";

const env = loadEnv();
const w = await wire(env, "ci-consumer");
const { log, metrics } = w;
const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);

const consumer = new BuildConsumer(
  w.kafka,
  {
    topic: w.topics.builds,
    groupId: env.CI_CONSUMER_GROUP,
    concurrency: env.CI_CONSUMER_CONCURRENCY,
    sessionTimeoutMs: env.CI_SESSION_TIMEOUT_MS,
    retryBaseMs: env.CI_RETRY_BASE_MS,
    retryMaxMs: env.CI_RETRY_MAX_MS,
  },
  w.gateway,
  w.dlq,
  metrics,
  log.child({ component: "consumer" }),
);
await consumer.start();

const ops = opsApp({
  log,
  registry: metrics.registry,
  consumer,
  gateway: w.gateway,
  dlq: w.dlq,
  kafkaUp: () => w.kafkaUp(),
  adminToken: env.A4C_ADMIN_TOKEN,
  metricsToken: env.A4C_METRICS_TOKEN,
}).listen({ port: env.PORT, hostname: env.HOST, ...LISTEN_OPTIONS });

log.info({
  event: "ci-consumer.started",
  topic: w.topics.builds,
  dlq: w.topics.dlq,
  group: env.CI_CONSUMER_GROUP,
  port: env.PORT,
});

shutdown.register("http", async () => {
  await ops.stop();
});
// Leaving the group waits for the batches in flight: a message being retried is given up
// uncommitted (the next member sends it again with the same Idempotency-Key).
shutdown.register("consumer", () => consumer.stop());
shutdown.register("close", () => w.close());
shutdown.listen();
