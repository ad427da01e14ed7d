/**
 * What main.ts and cli.ts both need, from one typed config: the logger and metrics, Kafka (with
 * the builds topic and its DLQ ensured), a producer for the DLQ, the gateway client and the DLQ.
 */
import { createKafka, createLogger } from "@a4c/shared";
import { DeadLetters } from "./dlq.ts";
import { brokersOf, type CiConsumerEnv, gatewayTokenOf } from "./env.ts";
import { GatewayClient } from "./gateway.ts";
import { ciConsumerMetrics } from "./metrics.ts";
import { ciTopics, ensureTopics } from "./topics.ts";

export async function wire(env: CiConsumerEnv, clientId: string) {
  const log = createLogger(clientId, env.A4C_LOG_LEVEL);
  const metrics = ciConsumerMetrics();
  const kafka = createKafka(brokersOf(env), clientId);
  const topics = ciTopics(env.CI_BUILDS_TOPIC);
  await ensureTopics(kafka, topics);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const gateway = new GatewayClient({
    url: env.A4C_GATEWAY_URL.replace(/\/+$/, ""),
    token: gatewayTokenOf(env),
    timeoutMs: env.CI_REQUEST_TIMEOUT_MS,
  });
  const dlq = new DeadLetters(kafka, producer, topics, env.CI_CONSUMER_GROUP, log.child({ component: "dlq" }));
  log.info({
    event: "ci-consumer.wired",
    topics,
    group: env.CI_CONSUMER_GROUP,
    gateway: env.A4C_GATEWAY_URL,
    token: env.A4C_CI_TOKEN ? "A4C_CI_TOKEN" : "A4C_ADMIN_TOKEN",
  });
  return {
    log,
    metrics,
    kafka,
    topics,
    producer,
    gateway,
    dlq,
    /** Kafka answers for the builds topic within 2 s. */
    async kafkaUp(): Promise<boolean> {
      const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 2_000));
      const probe = admin.fetchTopicOffsets(topics.builds).then(
        () => true,
        () => false,
      );
      return Promise.race([probe, timeout]);
    },
    async close(): Promise<void> {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}
export type Wiring = Awaited<ReturnType<typeof wire>>;
