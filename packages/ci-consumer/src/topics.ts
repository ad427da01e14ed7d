/**
 * The ci-consumer's Kafka topics, created at start with explicit settings (topic auto-creation is
 * off): the builds topic CI systems publish to and its DLQ. Plus the few admin calls the DLQ's
 * listing and replay need.
 */
import { ensureTopics as ensureTopicsWith, type TopicSpec } from "@a4c/shared";
import { type Admin, Kafka, logLevel } from "kafkajs";

export interface CiTopics {
  builds: string;
  dlq: string;
}

export const ciTopics = (builds: string): CiTopics => ({ builds, dlq: `${builds}.dlq` });

const DAY_MS = 24 * 3_600_000;

/**
 * Builds: 6 partitions (CI systems key by repository, so a repository's requests stay in order),
 * kept 7 days. DLQ: one partition, kept 30 days for a human to look at and replay.
 */
export function topicSpecs(t: CiTopics): TopicSpec[] {
  const common = { "cleanup.policy": "delete", "min.insync.replicas": "1" };
  return [
    {
      name: t.builds,
      partitions: 6,
      config: { ...common, "retention.ms": String(7 * DAY_MS), "retention.bytes": String(1024 ** 3) },
    },
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

export async function withAdmin<T>(kafka: Kafka, fn: (a: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates the missing topics (never alters existing ones); concurrent starters race harmlessly. */
export function ensureTopics(kafka: Kafka, t: CiTopics): Promise<void> {
  return withAdmin(kafka, (a) => ensureTopicsWith(a, topicSpecs(t)));
}

export type Offsets = Map<number, bigint>;

/** The next offset to be written in each partition of `topic`. */
export function endOffsets(admin: Admin, topic: string): Promise<Offsets> {
  return admin.fetchTopicOffsets(topic).then((o) => new Map(o.map((p) => [p.partition, BigInt(p.high)])));
}

/** Where `groupId` would resume in each partition: its committed offset, else the oldest kept one. */
export async function groupStartOffsets(admin: Admin, groupId: string, topic: string): Promise<Offsets> {
  const low = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.low)]));
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const out: Offsets = new Map();
  for (const [partition, lowOffset] of low) {
    const c = committed?.partitions.find((p) => p.partition === partition)?.offset;
    const at = c !== undefined && c !== "-1" ? BigInt(c) : lowOffset;
    out.set(partition, at > lowOffset ? at : lowOffset);
  }
  return out;
}

/** Stores offsets for a group that has no live members (the DLQ replay bookmark, a range reader). */
export function setGroupOffsets(admin: Admin, groupId: string, topic: string, offsets: Offsets): Promise<void> {
  return admin.setOffsets({
    groupId,
    topic,
    partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })),
  });
}
