/**
 * The ci-consumer's Kafka topics, created at start with explicit settings (topic auto-creation is
 * off): the builds topic CI systems publish to and its DLQ. (The offset calls the DLQ's listing and
 * replay need are shared: `@a4c/shared`'s kafka/topics.ts.)
 */
import { ensureTopics as ensureTopicsWith, type TopicSpec, withAdmin } from "@a4c/shared";
import type { Kafka } from "kafkajs";

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

/** Creates the missing topics (never alters existing ones); concurrent starters race harmlessly. */
export function ensureTopics(kafka: Kafka, t: CiTopics): Promise<void> {
  return withAdmin(kafka, (a) => ensureTopicsWith(a, topicSpecs(t)));
}
