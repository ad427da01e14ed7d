/**
 * The CDC consumer: one group member per instance on the job topic. Per batch (one partition):
 * keep each job's newest change, sync those jobs, route per-document failures to the first retry
 * topic, and only then commit the batch's offset. A crash before the commit re-reads the batch;
 * that is harmless because every write is versioned and built from the current row.
 */
import type { Logger } from "@a4c/shared";
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { type JobChange, newestPerJob, parseJobChange } from "./events.ts";
import { retryInPlace } from "./in-place.ts";
import type { EsSyncMetrics } from "./metrics.ts";
import type { FailureRouter } from "./retry.ts";
import type { SyncFailure, SyncService } from "./sync.ts";

export interface CdcConsumerOptions {
  topic: string;
  groupId: string;
  concurrency: number;
  bulkMax: number;
  sessionTimeoutMs: number;
}

export class CdcConsumer {
  readonly consumer: Consumer;
  #assigned: number[] = [];
  #newestCommitMs = 0;

  constructor(
    kafka: Kafka,
    private readonly opts: CdcConsumerOptions,
    private readonly sync: SyncService,
    private readonly router: FailureRouter,
    private readonly metrics: EsSyncMetrics,
    private readonly log: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: 1_000,
      maxBytesPerPartition: 4 * 1024 ** 2,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.#assigned = e.payload.memberAssignment[opts.topic] ?? [];
      this.log.info({ event: "consumer.assigned", topic: opts.topic, partitions: this.#assigned });
    });
  }

  /** Partitions finish batches in any order: the gauge keeps the newest commit written so far. */
  #projected(commitMs: number): void {
    if (commitMs <= this.#newestCommitMs) return;
    this.#newestCommitMs = commitMs;
    this.metrics.lastProjectedCommit.set(commitMs / 1000);
  }

  get assignedPartitions(): number[] {
    return this.#assigned;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    // A new group starts at the beginning: Debezium's initial snapshot is the index's first load.
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.concurrency,
      eachBatch: (payload) => this.#batch(payload),
    });
  }

  async #batch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const last = batch.messages.at(-1);
    if (!last) return;
    const started = performance.now();
    const changes: JobChange[] = [];
    const unreadable: SyncFailure[] = [];
    for (const m of batch.messages) {
      try {
        const change = parseJobChange(m.value, m.key);
        if (change) changes.push(change);
      } catch (err) {
        // Cannot tell which job it is about (or only roughly): the DLQ keeps it for a human.
        unreadable.push({ id: m.key?.toString() ?? `offset-${m.offset}`, version: null, error: String(err) });
      }
    }
    this.metrics.events.inc(batch.messages.length);
    const newest = newestPerJob(changes);
    this.metrics.batchSize.observe(newest.length);
    const ctl = { heartbeat, isRunning, isStale };
    const failures: SyncFailure[] = [];
    for (let i = 0; i < newest.length; i += this.opts.bulkMax) {
      const chunk = newest.slice(i, i + this.opts.bulkMax);
      const result = await retryInPlace(
        () => this.sync.syncJobs(chunk.map((c) => c.id)),
        ctl,
        this.log,
        (w) => this.metrics.unavailable.set(w ? 1 : 0),
      );
      failures.push(...result.failed);
      const now = Date.now();
      let newestCommit = 0;
      for (const c of chunk) {
        if (!c.committedAtMs) continue;
        this.metrics.projectionLag.observe((now - c.committedAtMs) / 1000);
        newestCommit = Math.max(newestCommit, c.committedAtMs);
      }
      if (newestCommit > 0) this.#projected(newestCommit);
      await heartbeat();
    }
    const routed = [
      ...failures.map((failure) => ({ failure, previous: null })),
      ...unreadable.map((failure) => ({ failure, previous: null, final: true })),
    ];
    await retryInPlace(() => this.router.route(routed), ctl, this.log);
    // Everything in the batch is now in Elasticsearch, known stale, or safely in a retry topic.
    resolveOffset(last.offset);
    await this.consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
    ]);
    this.log.debug({
      event: "batch.committed",
      partition: batch.partition,
      events: batch.messages.length,
      jobs: newest.length,
      failed: failures.length,
      ms: Math.round(performance.now() - started),
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
