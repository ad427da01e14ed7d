/**
 * es-sync's Kafka topics: the CDC topic it consumes (Debezium B creates it), and the retry and DLQ
 * topics it owns, created idempotently with explicit settings.
 */
import { ensureTopics as ensureTopicsWith, type TopicSpec } from "@a4c/shared";
import { type Admin, Kafka, logLevel } from "kafkajs";

export type { TopicSpec };

export interface SyncTopics {
  source: string;
  /** retry[i] holds messages to try again `delaysMs[i]` after they failed. */
  retry: Array<{ name: string; delayMs: number }>;
  dlq: string;
}

export function syncTopics(source: string, delaysMs: readonly number[]): SyncTopics {
  return {
    source,
    retry: delaysMs.map((delayMs, i) => ({ name: `${source}.retry.${i + 1}`, delayMs })),
    dlq: `${source}.dlq`,
  };
}

const DAY_MS = 24 * 3_600_000;

/** Retry topics hold messages for minutes; the DLQ keeps them for a month, for a human to look at. */
export function ownedTopicSpecs(t: SyncTopics): TopicSpec[] {
  const common = { "cleanup.policy": "delete", "min.insync.replicas": "1" };
  return [
    ...t.retry.map((r) => ({
      name: r.name,
      partitions: 3,
      config: { ...common, "retention.ms": String(7 * DAY_MS), "retention.bytes": String(256 * 1024 ** 2) },
    })),
    {
      name: t.dlq,
      partitions: 1,
      config: { ...common, "retention.ms": String(30 * DAY_MS), "retention.bytes": String(256 * 1024 ** 2) },
    },
  ];
}

export function createKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.ERROR, connectionTimeout: 3_000, retry: { retries: 5 } });
}

async function withAdmin<T>(kafka: Kafka, fn: (a: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates missing topics (never alters existing ones); concurrent starters may race harmlessly. */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  await withAdmin(kafka, (a) => ensureTopicsWith(a, topics));
}

export type Offsets = Map<number, bigint>;

/** The next offset to be written in each partition of `topic` (its high watermarks). */
export function endOffsets(kafka: Kafka, topic: string): Promise<Offsets> {
  return withAdmin(kafka, async (a) => {
    const offsets = await a.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  });
}

/** Where `groupId` would resume in each partition: its committed offset, else the oldest kept one. */
export function groupStartOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Offsets> {
  return withAdmin(kafka, async (a) => {
    const low = new Map((await a.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.low)]));
    const [committed] = await a.fetchOffsets({ groupId, topics: [topic] });
    const out: Offsets = new Map();
    for (const [partition, lowOffset] of low) {
      const c = committed?.partitions.find((p) => p.partition === partition)?.offset;
      const at = c !== undefined && c !== "-1" ? BigInt(c) : lowOffset;
      out.set(partition, at > lowOffset ? at : lowOffset);
    }
    return out;
  });
}

/** Stores offsets for a group that has no live members (DLQ replay bookmark, catch-up start). */
export function setGroupOffsets(kafka: Kafka, groupId: string, topic: string, offsets: Offsets): Promise<void> {
  return withAdmin(kafka, (a) =>
    a.setOffsets({
      groupId,
      topic,
      partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })),
    }),
  );
}

export function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  return withAdmin(kafka, async (a) => {
    await a.deleteGroups([groupId]).catch(() => {});
  });
}
