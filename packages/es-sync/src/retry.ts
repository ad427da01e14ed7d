/**
 * Failed documents leave the CDC partition (so one bad job never blocks the others) and go through
 * retry topics with growing delays, then to the DLQ. Each retry topic has one fixed delay, so its
 * messages are due in the order they were written and a consumer only ever waits on the head.
 */
import type { SearchDlqEntry } from "@a4c/shared/answers";
import type { Producer } from "kafkajs";
import type { SyncFailure } from "./sync.ts";
import type { SyncTopics } from "./topics.ts";

/** The payload of a retry or DLQ message: a DLQ entry as listed, but where it is in its topic. */
export type RetryMessage = Omit<SearchDlqEntry, "partition" | "offset">;

export type Route = { kind: "retry"; topic: string; delayMs: number } | { kind: "dlq"; topic: string };

/** Where a job that has now failed `attempts` times goes next. */
export function routeFailure(topics: SyncTopics, attempts: number): Route {
  const stage = topics.retry[attempts - 1];
  return stage ? { kind: "retry", topic: stage.name, delayMs: stage.delayMs } : { kind: "dlq", topic: topics.dlq };
}

/** One failure to route; `final` sends it straight to the DLQ (retrying cannot help, e.g. unparsable). */
export interface FailedItem {
  failure: SyncFailure;
  previous: RetryMessage | null;
  final?: boolean;
}

export function retryMessage({ failure, previous, final }: FailedItem, topics: SyncTopics, now: number) {
  const attempts = (previous?.attempts ?? 0) + 1;
  const route: Route = final ? { kind: "dlq", topic: topics.dlq } : routeFailure(topics, attempts);
  const message: RetryMessage = {
    jobId: failure.id,
    version: failure.version,
    attempts,
    error: failure.error,
    firstFailedAt: previous?.firstFailedAt ?? new Date(now).toISOString(),
    dueAtMs: now + (route.kind === "retry" ? route.delayMs : 0),
  };
  return { route, message };
}

export function parseRetryMessage(value: Buffer | null): RetryMessage {
  const m = JSON.parse(value?.toString() ?? "null") as RetryMessage | null;
  if (!m || typeof m.jobId !== "string") throw new Error("not a retry message");
  return m;
}

/** Sends failures to their next stage; resolves once Kafka acknowledged all of them. */
export class FailureRouter {
  constructor(
    private readonly producer: Producer,
    readonly topics: SyncTopics,
    private readonly hooks: {
      routed?: (route: Route, message: RetryMessage) => void;
      /** Called after Kafka acknowledged, e.g. to note the give-up in search_sync. */
      deadLettered?: (messages: RetryMessage[]) => Promise<void>;
    } = {},
  ) {}

  async route(failures: readonly FailedItem[]): Promise<void> {
    if (failures.length === 0) return;
    const now = Date.now();
    const byTopic = new Map<string, Array<{ key: string; value: string }>>();
    const dead: RetryMessage[] = [];
    for (const item of failures) {
      const { route, message } = retryMessage(item, this.topics, now);
      const list = byTopic.get(route.topic) ?? [];
      list.push({ key: message.jobId, value: JSON.stringify(message) });
      byTopic.set(route.topic, list);
      if (route.kind === "dlq") dead.push(message);
      this.hooks.routed?.(route, message);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    await this.producer.sendBatch({ acks: -1, topicMessages });
    if (dead.length > 0) await this.hooks.deadLettered?.(dead);
  }
}
