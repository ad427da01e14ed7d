/**
 * es-sync's Kafka topics: the CDC topic it consumes (Debezium B creates it), and the retry and DLQ
 * topics it owns, created idempotently with explicit settings.
 */
import {
  createKafka,
  endOffsets as endOffsetsOf,
  ensureTopics as ensureTopicsWith,
  groupStartOffsets as groupStartOffsetsOf,
  type Offsets,
  setGroupOffsets as setGroupOffsetsOf,
  type TopicSpec,
  withAdmin,
} from "@a4c/shared";
import type { Kafka } from "kafkajs";

export type { Offsets, TopicSpec };
export { createKafka };

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

/** A group per retry topic: members of one group with different subscriptions rebalance forever. */
export const retryGroupOf = (groupId: string, index: number): string => `${groupId}.retry.${index + 1}`;

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

/** Creates missing topics (never alters existing ones); concurrent starters may race harmlessly. */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<void> {
  await withAdmin(kafka, (a) => ensureTopicsWith(a, topics));
}

/** The next offset to be written in each partition of `topic` (its high watermarks). */
export function endOffsets(kafka: Kafka, topic: string): Promise<Offsets> {
  return withAdmin(kafka, (a) => endOffsetsOf(a, topic));
}

/** Where `groupId` would resume in each partition: its committed offset, else the oldest kept one. */
export function groupStartOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Offsets> {
  return withAdmin(kafka, (a) => groupStartOffsetsOf(a, groupId, topic));
}

/** Stores offsets for a group that has no live members (DLQ replay bookmark, catch-up start). */
export function setGroupOffsets(kafka: Kafka, groupId: string, topic: string, offsets: Offsets): Promise<void> {
  return withAdmin(kafka, (a) => setGroupOffsetsOf(a, groupId, topic, offsets));
}

export function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  return withAdmin(kafka, async (a) => {
    await a.deleteGroups([groupId]).catch(() => {});
  });
}
