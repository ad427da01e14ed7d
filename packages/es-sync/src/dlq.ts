/**
 * The DLQ: documents that failed every retry. Listing shows the entries not replayed yet; a
 * replay syncs them again from the current rows (after a fix to the data or the mapping) and
 * sends the ones that still fail back to the DLQ. The replay bookmark is the committed offset of
 * a consumer group that never runs as a member (`<group>.dlq-replay`).
 */

import { markSyncFailed, type Sql } from "@a4c/shared";
import type { SearchDlqEntry } from "@a4c/shared/answers";
import type { Kafka } from "kafkajs";
import { readRange } from "./read-range.ts";
import { type FailureRouter, parseRetryMessage, type RetryMessage } from "./retry.ts";
import type { SyncService } from "./sync.ts";
import { endOffsets, groupStartOffsets, setGroupOffsets } from "./topics.ts";

export type DlqEntry = SearchDlqEntry;

export class DeadLetters {
  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly groupId: string,
    private readonly sync: SyncService,
    private readonly router: FailureRouter,
  ) {}

  get replayGroup(): string {
    return `${this.groupId}.dlq-replay`;
  }

  async #pending(): Promise<{ entries: DlqEntry[]; end: Map<number, bigint> }> {
    const from = await groupStartOffsets(this.kafka, this.replayGroup, this.topic);
    const end = await endOffsets(this.kafka, this.topic);
    const entries: DlqEntry[] = [];
    await readRange(
      this.kafka,
      this.topic,
      from,
      end,
      async (messages, partition) => {
        for (const m of messages) {
          try {
            entries.push({ ...parseRetryMessage(m.value), partition, offset: m.offset });
          } catch {
            entries.push({
              jobId: m.key?.toString() ?? "?",
              version: null,
              attempts: 0,
              error: "unreadable DLQ entry",
              firstFailedAt: "",
              dueAtMs: 0,
              partition,
              offset: m.offset,
            });
          }
        }
      },
      { groupPrefix: this.groupId },
    );
    return { entries, end };
  }

  /** The entries not replayed yet. */
  async list(): Promise<DlqEntry[]> {
    return (await this.#pending()).entries;
  }

  /** Syncs every pending entry again; returns how many are indexed now and how many failed again. */
  async replay(): Promise<{ replayed: number; indexed: number; failedAgain: number }> {
    const { entries, end } = await this.#pending();
    const byJob = new Map(entries.map((e) => [e.jobId, e]));
    const result = await this.sync.syncJobs([...byJob.keys()]);
    // Back to the DLQ (not through the retries again: a human asked, the answer is immediate).
    await this.router.route(
      result.failed.map((failure) => ({ failure, previous: byJob.get(failure.id) ?? null, final: true })),
    );
    await setGroupOffsets(this.kafka, this.replayGroup, this.topic, end);
    return { replayed: byJob.size, indexed: byJob.size - result.failed.length, failedAgain: result.failed.length };
  }
}

/** For the router: a give-up is noted beside the job, so the backup poller leaves it to the DLQ. */
export const noteDeadLettered = (sql: Sql) => async (messages: RetryMessage[]) => {
  for (const m of messages) {
    if (/^[0-9a-f-]{36}$/i.test(m.jobId)) await markSyncFailed(sql, m.jobId, m.version, m.error);
  }
};
