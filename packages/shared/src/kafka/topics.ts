import type { Admin, ITopicConfig } from "kafkajs";

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
