import { type Admin, type ITopicConfig, Kafka, logLevel } from "kafkajs";

/** A topic created by the project, with explicit settings (topic auto-creation is off). */
export interface TopicSpec {
  name: string;
  partitions: number;
  /** 1 on a single broker, the default. */
  replicationFactor?: number;
  config: Record<string, string>;
}

/**
 * Creates missing topics with explicit settings; with `growPartitions`, also raises the partition
 * count of existing ones that have fewer (never shrinks: Kafka cannot). Safe to run concurrently
 * and repeatedly. The caller connects and disconnects `admin`.
 */
export async function ensureTopics(
  admin: Admin,
  topics: TopicSpec[],
  options: { growPartitions?: boolean } = {},
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .filter((t) => !existing.has(t.name))
    .map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: t.replicationFactor ?? 1,
      configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length) {
    // Another starter may win the race; "already exists" is then not an error.
    await admin.createTopics({ topics: missing, waitForLeaders: true }).catch((err: Error & { type?: string }) => {
      if (!/already exists/i.test(String(err.message)) && err.type !== "TOPIC_ALREADY_EXISTS") throw err;
    });
  }
  const present = topics.filter((t) => existing.has(t.name));
  if (!options.growPartitions || present.length === 0) return;
  const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
  const grow = present.flatMap((t) => {
    const have = meta.topics.find((m) => m.name === t.name)?.partitions.length ?? t.partitions;
    return have < t.partitions ? [{ topic: t.name, count: t.partitions }] : [];
  });
  if (grow.length) await admin.createPartitions({ topicPartitions: grow, validateOnly: false });
}

/** A client with the settings every service of ours uses. */
export function createKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.ERROR, connectionTimeout: 3_000, retry: { retries: 5 } });
}

/** Runs `fn` with a connected admin client, disconnected afterwards whatever happens. */
export async function withAdmin<T>(kafka: Kafka, fn: (a: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Partition → offset. */
export type Offsets = Map<number, bigint>;

/** The next offset to be written in each partition of `topic` (its high watermarks). */
export async function endOffsets(admin: Admin, topic: string): Promise<Offsets> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
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

/** Messages `groupId` has yet to consume in `topic`: the sum over partitions of end − resume point. */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [end, start] = await Promise.all([endOffsets(admin, topic), groupStartOffsets(admin, groupId, topic)]);
  let lag = 0n;
  for (const [partition, high] of end) {
    const at = start.get(partition) ?? high;
    if (high > at) lag += high - at;
  }
  return Number(lag);
}

/** Stores offsets for a group that has no live members (a DLQ replay bookmark, a range reader's start). */
export async function setGroupOffsets(admin: Admin, groupId: string, topic: string, offsets: Offsets): Promise<void> {
  await admin.setOffsets({
    groupId,
    topic,
    partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })),
  });
}
