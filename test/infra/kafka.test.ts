/**
 * The launcher's Kafka (KRaft, one node): topics are created explicitly with their settings, and
 * a consumer group reads what a producer wrote, one key always in one partition. Uses the shared
 * broker under .local/kafka (started here if it is not running, and left running), on a topic of
 * its own so the real `cdc.public.job` never sees test data.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { endOffsets, groupLag, setGroupOffsets, withAdmin } from "@a4c/shared";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { CDC_JOB_TOPIC, cdcJobTopic, deleteTopics, ensureTopics, KafkaServer } from "../../infra/components/kafka.ts";
import { LOCAL } from "../../infra/lib/paths.ts";
import { collectKafka } from "../helpers/cdc.ts";

const run = randomBytes(4).toString("hex");
const kafka = new KafkaServer(join(LOCAL, "kafka"));
const topic = cdcJobTopic(`kt${run}`);

beforeAll(async () => {
  const started = performance.now();
  await kafka.start();
  console.log(`kafka ready in ${Math.round(performance.now() - started)} ms`);
}, 180_000);

afterAll(async () => {
  await deleteTopics(kafka.brokers, [topic.name]).catch(() => {});
});

describe("kafka", () => {
  test("the job topic spec: 6 partitions, one replica", () => {
    expect(CDC_JOB_TOPIC.name).toBe("cdc.public.job");
    expect(CDC_JOB_TOPIC.partitions).toBe(6);
    expect(CDC_JOB_TOPIC.replicationFactor).toBe(1);
  });

  test("ensureTopics creates with explicit settings, is idempotent, and grows partitions", async () => {
    await ensureTopics(kafka.brokers, [{ ...topic, partitions: 3 }]);
    await ensureTopics(kafka.brokers, [topic]);
    await Promise.all([ensureTopics(kafka.brokers, [topic]), ensureTopics(kafka.brokers, [topic])]);
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [topic.name] });
      expect(meta.topics[0]?.partitions.length).toBe(6);
      const configs = await admin.describeConfigs({
        resources: [{ type: 2, name: topic.name, configNames: ["retention.ms", "cleanup.policy"] }],
        includeSynonyms: false,
      });
      const entries = Object.fromEntries(
        configs.resources[0]?.configEntries.map((e) => [e.configName, e.configValue]) ?? [],
      );
      expect(entries["retention.ms"]).toBe(topic.config["retention.ms"]);
      expect(entries["cleanup.policy"]).toBe("delete");
    } finally {
      await admin.disconnect();
    }
  });

  test("automatic topic creation is off: a typo fails instead of making a topic", async () => {
    const client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await expect(
        producer.send({ topic: `no-such-topic-${run}`, messages: [{ value: "x" }], timeout: 2_000 }),
      ).rejects.toThrow();
    } finally {
      await producer.disconnect();
    }
  });

  test("a producer writes keyed messages and a consumer group reads them all, per key in order", async () => {
    await ensureTopics(kafka.brokers, [topic]);
    const client = new Kafka({ clientId: `kt-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const producer = client.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const keys = Array.from({ length: 12 }, (_, i) => `job-${run}-${i}`);
    const sent = keys.flatMap((key) =>
      [1, 2, 3, 4, 5].map((version) => ({ key, value: JSON.stringify({ key, version }) })),
    );
    await producer.send({ topic: topic.name, acks: -1, messages: sent });
    await producer.disconnect();

    const consumer = await collectKafka(kafka.brokers, topic.name, `kt-group-${run}`);
    try {
      // collectKafka parses values as change events; here they are {key, version}.
      await consumer.waitFor(`${sent.length} messages`, (r) => r.length >= sent.length, 60_000);
      const got = consumer.received.map((r) => ({
        key: r.key,
        partition: r.partition,
        version: (r.event as unknown as { version: number }).version,
      }));
      expect(got.length).toBe(sent.length);
      for (const key of keys) {
        const mine = got.filter((g) => g.key === key);
        expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
        expect(mine.map((m) => m.version)).toEqual([1, 2, 3, 4, 5]);
      }
      // 12 keys over 6 partitions: the hash spreads them (not all in one).
      expect(new Set(got.map((g) => g.partition)).size).toBeGreaterThan(1);
    } finally {
      await consumer.stop();
    }
  }, 90_000);

  test("groupLag (the lag gauges' reading): all of the topic for a new group, end − committed after commits", async () => {
    const client = new Kafka({ clientId: `kt-lag-${run}`, brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const group = `kt-lag-${run}`;
    await withAdmin(client, async (admin) => {
      const end = await endOffsets(admin, topic.name);
      const total = Number([...end.values()].reduce((a, b) => a + b, 0n));
      expect(total).toBe(60); // the 60 messages the test above wrote
      expect(await groupLag(admin, group, topic.name)).toBe(60);
      // Committed halfway in one partition, to the end in the others.
      const [first] = [...end.keys()].filter((p) => (end.get(p) ?? 0n) >= 2n);
      const half = new Map([...end].map(([p, high]) => [p, p === first ? high / 2n : high]));
      await setGroupOffsets(admin, group, topic.name, half);
      expect(await groupLag(admin, group, topic.name)).toBe(
        Number((end.get(first ?? 0) ?? 0n) - (end.get(first ?? 0) ?? 0n) / 2n),
      );
      await admin.deleteGroups([group]);
    });
  });

  test("status reports the broker with its memory", async () => {
    const st = await kafka.status();
    console.log(`kafka status: pid=${st.pid} rss=${st.rssMb} MiB ${st.detail}`);
    expect(st.running).toBe(true);
    expect(st.rssMb).toBeGreaterThan(0);
  });
});
