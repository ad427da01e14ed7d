import {
  bootService,
  ENTITIES,
  ensureProcessorConsumer,
  LISTEN_OPTIONS,
  migrate,
  natsCheck,
  postgresCheck,
  purgeOperations,
  purgeRejectedMessages,
  replicationSlotLag,
} from "@a4c/shared";
import { opsApp } from "./app.ts";
import { BatchProcessor } from "./batch.ts";
import { EntityConsumer } from "./consumer.ts";
import { DlqStream } from "./dlq.ts";
import { loadEnv } from "./env.ts";
import { processorMetrics } from "./metrics.ts";
import { DlqReplayer } from "./replay.ts";

const env = loadEnv();
// One connection per consumer and a few for follow-up work.
const { log, names, sql, nats, jsm, js, shutdown, closeLast } = await bootService(
  "write-processor",
  env,
  ENTITIES.length + 2,
);
const dlq = new DlqStream(jsm, names);
const metrics = processorMetrics({ dlqDepth: () => dlq.depth(), slots: () => replicationSlotLag(sql) });
await migrate(sql, log);
// Best effort: a reader that misses this finds the status by its own polling.
const onSettled = (ids: string[]) => nats.nc.publish(names.operationsSettled, JSON.stringify(ids));

const consumers: EntityConsumer[] = [];
for (const entity of ENTITIES) {
  await ensureProcessorConsumer(jsm, names, entity, env.A4C_ACK_WAIT_MS);
  const batch = new BatchProcessor(
    sql,
    js,
    names,
    {
      entity,
      maxDeliveries: env.A4C_MAX_DELIVERIES,
      retentionHours: env.A4C_RETENTION_HOURS,
      baseImage: env.A4C_DEFAULT_IMAGE,
      onSettled,
    },
    metrics,
    log.child({ component: "batch", entity }),
    () => shutdown.isShuttingDown,
  );
  const consumer = new EntityConsumer(
    js,
    names,
    entity,
    env.A4C_BATCH_MAX,
    batch,
    log.child({ component: "consumer" }),
  );
  await consumer.start();
  consumers.push(consumer);
}

const replayer = new DlqReplayer(
  sql,
  dlq,
  { retentionHours: env.A4C_RETENTION_HOURS, baseImage: env.A4C_DEFAULT_IMAGE, onSettled },
  metrics,
  log.child({ component: "dlq-replay" }),
);
async function ready() {
  const checks: Record<string, { ok: boolean; detail?: unknown }> = {
    postgres: await postgresCheck(sql),
    nats: natsCheck(nats),
  };
  for (const entity of ENTITIES) {
    try {
      const info = await jsm.consumers.info(names.writes, names.processorDurable(entity));
      metrics.pending.set({ entity }, info.num_pending);
      checks[`consumer_${entity}`] = {
        ok: true,
        detail: { pending: info.num_pending, unacked: info.num_ack_pending, redelivered: info.num_redelivered },
      };
    } catch {
      checks[`consumer_${entity}`] = { ok: false, detail: "unavailable" };
    }
  }
  return checks;
}

const ops = opsApp(
  { log, registry: metrics.registry, adminToken: env.A4C_ADMIN_TOKEN, metricsToken: env.A4C_METRICS_TOKEN, ready },
  dlq,
  replayer,
).listen({ port: env.PORT, hostname: env.HOST, ...LISTEN_OPTIONS });

const purge = setInterval(async () => {
  try {
    const ops = await purgeOperations(sql, env.A4C_RETENTION_HOURS);
    const rejected = await purgeRejectedMessages(sql, env.A4C_RETENTION_HOURS);
    if (ops + rejected > 0) log.info({ event: "purge.done", operations: ops, rejected });
  } catch (err) {
    log.warn({ event: "purge.failed", err });
  }
}, env.A4C_PURGE_INTERVAL_MS);

log.info({ event: "processor.started", entities: ENTITIES, stream: names.writes, port: env.PORT });

shutdown.register("stop-fetching-and-drain", async () => {
  clearInterval(purge);
  await Promise.all(consumers.map((c) => c.stop()));
});
shutdown.register("http", async () => {
  await ops.stop();
});
closeLast();
