/**
 * Isolation for ci-consumer tests: per test file a stack (gateway, processor, read-api on a
 * database and NATS namespace of its own, stack.ts), a builds topic, its DLQ and a consumer group
 * named after that namespace in the launcher's Kafka, and ci-consumer processes started from
 * packages/ci-consumer/src/main.ts against that gateway. stop() removes all of it.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { deleteTopics } from "../../infra/components/kafka.ts";
import { PostgresServer } from "../../infra/components/postgres.ts";
import { ServiceProcess } from "../../infra/components/service.ts";
import { LOCAL, PORTS, ROOT } from "../../infra/lib/paths.ts";
import type { DlqEntry } from "../../packages/ci-consumer/src/dlq.ts";
import { type OpsTarget, operator } from "./ops.ts";
import { freePort } from "./ports.ts";
import { startStack, type TestStack } from "./stack.ts";

export interface CiEnv {
  stack: TestStack;
  brokers: string[];
  kafka: Kafka;
  producer: Producer;
  topic: string;
  dlqTopic: string;
  group: string;
  /** The environment every ci-consumer of this env starts with. */
  env: Record<string, string>;
  /** A new ci-consumer process (not started); `n` keeps the files of several apart. */
  consumer(n?: number, env?: Record<string, string>): Promise<ServiceProcess>;
  /** Publishes one message to the builds topic; where it landed. */
  publish(value: string | Buffer | null, key?: string): Promise<{ partition: number; offset: string }>;
  /** The group's committed offset in `partition` (the next message it will read), or -1. */
  committed(partition: number): Promise<bigint>;
  stop(): Promise<void>;
}

/** A listed DLQ entry, as the ci-consumer answers it. */
export type DlqItem = DlqEntry;

/** GET /dlq on a ci-consumer as the admin. */
export async function dlqItems(svc: OpsTarget): Promise<DlqItem[]> {
  const r = await operator(svc, "/dlq?limit=1000");
  if (r.status !== 200) throw new Error(`GET /dlq: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.items as DlqItem[];
}

/**
 * A builds topic, its consumer group and ci-consumers of a test stack: a new one, or `borrowed`
 * (e.g. a provisioning stack, so a build from the topic really runs on the hosts; `stop` then
 * leaves that stack to its owner).
 */
export async function startCiEnv(
  label: string,
  stackEnv: Record<string, string> = {},
  borrowed?: TestStack,
): Promise<CiEnv> {
  const stack = borrowed ?? (await startStack(label, { env: stackEnv }));
  const brokers = [`127.0.0.1:${PORTS.kafka}`];
  const topic = `${stack.namespace}ci.builds`;
  const group = `${stack.namespace}ci-consumer`;
  const kafka = new Kafka({ clientId: `a4c-test-${stack.namespace}`, brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const started: ServiceProcess[] = [];
  const env: Record<string, string> = {
    KAFKA_BROKERS: brokers.join(","),
    A4C_GATEWAY_URL: stack.gateway.url,
    A4C_ADMIN_TOKEN: stack.adminToken,
    // Not inherited from the runner's environment: this gateway knows only its admin token.
    A4C_CI_TOKEN: "",
    CI_BUILDS_TOPIC: topic,
    CI_CONSUMER_GROUP: group,
    // A killed member's partitions go to the next one after this long.
    CI_SESSION_TIMEOUT_MS: "6000",
    CI_RETRY_BASE_MS: "100",
    CI_RETRY_MAX_MS: "1000",
    CI_REQUEST_TIMEOUT_MS: "3000",
    A4C_SHUTDOWN_TIMEOUT_MS: "10000",
    A4C_LOG_LEVEL: "debug",
  };
  return {
    stack,
    brokers,
    kafka,
    producer,
    topic,
    dlqTopic: `${topic}.dlq`,
    group,
    env,
    async consumer(n = 1, more = {}) {
      const port = await freePort();
      const dir = join(stack.dir, `ci-consumer-${n}`);
      mkdirSync(dir, { recursive: true });
      const svc = new ServiceProcess("ci-consumer", ROOT, dir, dir, port, { ...env, ...more, PORT: String(port) });
      started.push(svc);
      return svc;
    },
    async publish(value, key) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: key ?? null, value }] });
      if (!meta?.baseOffset) throw new Error("the broker did not say where the message landed");
      return { partition: meta.partition, offset: meta.baseOffset };
    },
    async committed(partition) {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const o = t?.partitions.find((p) => p.partition === partition)?.offset ?? "-1";
      return BigInt(o);
    },
    async stop() {
      // Gracefully, so the members leave the group and it can be deleted below.
      await Promise.all(started.map((svc) => svc.stop().catch(() => {})));
      await producer.disconnect().catch(() => {});
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(group));
      // A member of a killed process lingers until its session times out: retry, bounded.
      for (let left = groups, tries = 0; left.length > 0 && tries < 15; tries++) {
        await admin.deleteGroups(left).catch(() => {});
        const now = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
        left = left.filter((g) => now.has(g));
        if (left.length > 0) await Bun.sleep(1_000);
      }
      await admin.disconnect().catch(() => {});
      await deleteTopics(brokers, [topic, `${topic}.dlq`]).catch(() => {});
      if (borrowed) return;
      await stack.stop();
      // The stack's own database clone, once its services are gone.
      const database = new URL(stack.databaseUrl).pathname.slice(1);
      new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres).psql(
        `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`,
      );
    },
  };
}
