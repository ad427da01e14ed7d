/**
 * What the alert rules need from the search side, read every `ES_SYNC_WATCH_INTERVAL_MS` into
 * gauges (a scrape never waits for Kafka or Elasticsearch):
 *  - the cluster's health (0 green, 1 yellow, 2 red, 3 unreachable);
 *  - each of our groups' lag on its topic (the CDC topic and every retry topic);
 *  - the DLQ entries not replayed yet.
 * One reading failing leaves the others to be read; Kafka down keeps the last values.
 */
import { groupLag, type Logger, withAdmin } from "@a4c/shared";
import type { Client } from "@elastic/elasticsearch";
import type { Kafka } from "kafkajs";
import type { EsSyncMetrics } from "./metrics.ts";
import { retryGroupOf, type SyncTopics } from "./topics.ts";

const HEALTH = { green: 0, yellow: 1, red: 2 } as const;
export const UNREACHABLE = 3;

export interface WatchTargets {
  client: Client;
  kafka: Kafka;
  topics: SyncTopics;
  /** The CDC topic's group (the retry topics' groups are named after it). */
  groupId: string;
  /** The DLQ's replay bookmark: entries past it are not replayed yet. */
  replayGroup: string;
  metrics: EsSyncMetrics;
  log: Logger;
}

/** The health colour as a number for the gauge; anything unknown counts as red. */
export function healthValue(status: string | undefined): number {
  return status && status in HEALTH ? HEALTH[status as keyof typeof HEALTH] : HEALTH.red;
}

export async function readClusterHealth(client: Client): Promise<number> {
  try {
    const h = await client.cluster.health({ timeout: "2s" }, { requestTimeout: 3_000, maxRetries: 0 });
    return healthValue(h.status);
  } catch {
    return UNREACHABLE;
  }
}

export async function watchOnce(t: WatchTargets): Promise<void> {
  t.metrics.clusterHealth.set(await readClusterHealth(t.client));
  const groups: Array<[string, string]> = [
    [t.topics.source, t.groupId],
    ...t.topics.retry.map((r, i): [string, string] => [r.name, retryGroupOf(t.groupId, i)]),
  ];
  try {
    await withAdmin(t.kafka, async (admin) => {
      for (const [topic, group] of groups) t.metrics.consumerLag.set({ topic }, await groupLag(admin, group, topic));
      t.metrics.dlqMessages.set(await groupLag(admin, t.replayGroup, t.topics.dlq));
    });
  } catch (err) {
    t.log.warn({ event: "watch.kafka_unreadable", err: String(err) });
  }
}
