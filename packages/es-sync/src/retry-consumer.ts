/**
 * One consumer per retry topic. Messages of one topic share one delay, so they fall due in
 * partition order: the consumer syncs every due message at the head of the batch together,
 * waits (heartbeating) for the next one, and commits as it goes. A document that fails again
 * moves to the next stage before its offset here is committed.
 */
import type { Logger } from "@a4c/shared";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import { type BatchControl, retryInPlace, sleepWithHeartbeat } from "./in-place.ts";
import type { EsSyncMetrics } from "./metrics.ts";
import { type FailureRouter, parseRetryMessage, type RetryMessage } from "./retry.ts";
import type { SyncService } from "./sync.ts";

export class RetryConsumer {
  readonly consumer: Consumer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    groupId: string,
    private readonly sync: SyncService,
    private readonly router: FailureRouter,
    private readonly metrics: EsSyncMetrics,
    private readonly log: Logger,
    sessionTimeoutMs: number,
  ) {
    this.consumer = kafka.consumer({ groupId, sessionTimeout: sessionTimeoutMs, heartbeatInterval: 1_000 });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: (payload) => this.#batch(payload),
    });
  }

  async #batch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const ctl: BatchControl = { heartbeat, isRunning, isStale };
    let i = 0;
    while (i < batch.messages.length) {
      const due: Array<{ m: KafkaMessage; r: RetryMessage | null }> = [];
      const now = Date.now();
      for (; i < batch.messages.length; i++) {
        const m = batch.messages[i] as KafkaMessage;
        let r: RetryMessage | null = null;
        try {
          r = parseRetryMessage(m.value);
        } catch {
          // Not ours to understand; skipping it is all a retry topic can do.
          this.log.error({ event: "retry.unreadable", topic: this.topic, offset: m.offset });
        }
        if (r && r.dueAtMs > now) break;
        due.push({ m, r });
      }
      if (due.length === 0) {
        const head = parseRetryMessage((batch.messages[i] as KafkaMessage).value);
        await sleepWithHeartbeat(head.dueAtMs - now, ctl);
        continue;
      }
      const items = due.flatMap((d) => (d.r ? [d.r] : []));
      const result = await retryInPlace(
        () => this.sync.syncJobs([...new Set(items.map((r) => r.jobId))]),
        ctl,
        this.log,
      );
      const previousOf = new Map(items.map((r) => [r.jobId, r]));
      await retryInPlace(
        () =>
          this.router.route(
            result.failed.map((failure) => ({ failure, previous: previousOf.get(failure.id) ?? null })),
          ),
        ctl,
        this.log,
      );
      const last = (due.at(-1) as { m: KafkaMessage }).m;
      resolveOffset(last.offset);
      await this.consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
      this.metrics.repaired.inc({ by: "retry" }, items.length - result.failed.length);
      this.log.info({ event: "retry.batch", topic: this.topic, jobs: items.length, failed: result.failed.length });
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
