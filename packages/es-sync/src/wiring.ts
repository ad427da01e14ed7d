/**
 * The parts main.ts and cli.ts both need, connected from one typed config: PostgreSQL,
 * Elasticsearch (with the alias ensured), Kafka (with es-sync's own topics ensured), the sync
 * service, the failure router, the DLQ and the reconciler.
 */
import { createLogger, createSql, ensureJobsIndex, migrate } from "@a4c/shared";
import { DeadLetters, noteDeadLettered } from "./dlq.ts";
import { brokersOf, type EsSyncEnv, retryDelaysOf } from "./env.ts";
import { esSyncMetrics } from "./metrics.ts";
import { Reconciler } from "./reconciler.ts";
import { FailureRouter } from "./retry.ts";
import { createEsClient, ElasticsearchIndex } from "./search-index.ts";
import { SyncService } from "./sync.ts";
import { createKafka, ensureTopics, ownedTopicSpecs, syncTopics } from "./topics.ts";

export async function wire(env: EsSyncEnv, clientId: string) {
  const log = createLogger(clientId, env.A4C_LOG_LEVEL);
  const metrics = esSyncMetrics();
  const sql = createSql(env.DATABASE_URL, { max: env.ES_SYNC_CONCURRENCY + 4, application: clientId });
  await migrate(sql, log);
  const client = createEsClient(env.ELASTICSEARCH_URL);
  const index = new ElasticsearchIndex(client);
  const concrete = await ensureJobsIndex(client, env.ES_SYNC_ALIAS);
  await client.indices.putSettings({
    index: env.ES_SYNC_ALIAS,
    settings: { refresh_interval: env.ES_SYNC_REFRESH_INTERVAL },
  });
  const kafka = createKafka(brokersOf(env), clientId);
  const topics = syncTopics(env.ES_SYNC_TOPIC, retryDelaysOf(env));
  await ensureTopics(kafka, ownedTopicSpecs(topics));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const sync = new SyncService(sql, index, env.ES_SYNC_ALIAS, metrics);
  const router = new FailureRouter(producer, topics, {
    routed: (route, message) => {
      metrics.routed.inc({ topic: route.kind === "dlq" ? "dlq" : route.topic });
      log.warn({
        event: route.kind === "dlq" ? "sync.dead_lettered" : "sync.retry_scheduled",
        ...message,
        topic: route.topic,
      });
    },
    deadLettered: noteDeadLettered(sql),
  });
  const dlq = new DeadLetters(kafka, topics.dlq, env.ES_SYNC_GROUP, sync, router);
  const reconciler = new Reconciler(
    sql,
    index,
    env.ES_SYNC_ALIAS,
    sync,
    router,
    metrics,
    log.child({ component: "reconciler" }),
    env.ES_SYNC_BULK_MAX,
  );
  log.info({ event: "es-sync.wired", alias: env.ES_SYNC_ALIAS, index: concrete, topics });
  return {
    refreshInterval: env.ES_SYNC_REFRESH_INTERVAL,
    log,
    metrics,
    sql,
    client,
    index,
    kafka,
    topics,
    producer,
    sync,
    router,
    dlq,
    reconciler,
    async close(): Promise<void> {
      await producer.disconnect().catch(() => {});
      await client.close().catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}
export type Wiring = Awaited<ReturnType<typeof wire>>;
