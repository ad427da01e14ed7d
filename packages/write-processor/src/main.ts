import {
  connectNats,
  createLogger,
  createSql,
  ENTITIES,
  ensureProcessorConsumer,
  ensureWriteStreams,
  jetstream,
  jetstreamManager,
  migrate,
  opsRoutes,
  purgeOperations,
  purgeRejectedMessages,
  ShutdownManager,
  StreamNames,
} from "@a4c/shared";
import { Elysia } from "elysia";
import { BatchProcessor } from "./batch.ts";
import { EntityConsumer } from "./consumer.ts";
import { loadEnv } from "./env.ts";
import { processorMetrics } from "./metrics.ts";

const env = loadEnv();
const log = createLogger("write-processor", env.A4C_LOG_LEVEL);
const names = new StreamNames(env.A4C_NAMESPACE);
const metrics = processorMetrics();
const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);

// One connection per consumer and a few for follow-up work.
const sql = createSql(env.DATABASE_URL, { max: ENTITIES.length + 2, application: "write-processor" });
await migrate(sql, log);
const nats = await connectNats(env.NATS_URL, "write-processor", log);
const nc = nats.nc;
const jsm = await jetstreamManager(nc);
await ensureWriteStreams(jsm, names, {
  retentionHours: env.A4C_RETENTION_HOURS,
  maxBytes: 2 * 1024 ** 3,
  duplicateWindowMs: 120_000,
});
const js = jetstream(nc);

const consumers: EntityConsumer[] = [];
for (const entity of ENTITIES) {
  await ensureProcessorConsumer(jsm, names, entity, env.A4C_ACK_WAIT_MS);
  const batch = new BatchProcessor(
    sql,
    js,
    names,
    { entity, maxDeliveries: env.A4C_MAX_DELIVERIES, retentionHours: env.A4C_RETENTION_HOURS },
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

const ops = new Elysia()
  .use(
    opsRoutes(metrics.registry, async () => {
      const checks: Record<string, { ok: boolean; detail?: unknown }> = {};
      checks.nats = { ok: nats.connected };
      try {
        await sql`SELECT 1`;
        checks.postgres = { ok: true };
      } catch (err) {
        checks.postgres = { ok: false, detail: String(err) };
      }
      for (const entity of ENTITIES) {
        try {
          const info = await jsm.consumers.info(names.writes, names.processorDurable(entity));
          metrics.pending.set({ entity }, info.num_pending);
          checks[`consumer_${entity}`] = {
            ok: true,
            detail: { pending: info.num_pending, unacked: info.num_ack_pending, redelivered: info.num_redelivered },
          };
        } catch (err) {
          checks[`consumer_${entity}`] = { ok: false, detail: String(err) };
        }
      }
      return checks;
    }),
  )
  .listen({ port: env.PORT, hostname: env.HOST });

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
shutdown.register("nats", () => nc.drain());
shutdown.register("postgres", () => sql.end({ timeout: 5 }));
shutdown.listen();
