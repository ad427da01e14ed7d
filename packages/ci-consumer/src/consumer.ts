/**
 * The builds consumer: one member of the group per instance on the builds topic. Each partition's
 * messages are handled one at a time, in order; a message's offset is committed only once its
 * fate is settled and durable:
 *
 * - a JSON object → `POST /v1/images/builds` with `Idempotency-Key: kafka:<topic>:<partition>:<offset>`;
 *   202 → commit. A crash before the commit sends it again with the same key: a replay.
 * - not JSON, not an object, or a 4xx the message cannot get past → copied to the DLQ with the
 *   reason (Kafka acknowledged), then commit.
 * - 503, 429, other 5xx, refused connection, timeout → the same message again after a bounded
 *   backoff that honours Retry-After, for as long as the service runs; nothing is committed and
 *   the partition waits (no message is skipped, order is kept).
 */
import type { Logger } from "@a4c/shared";
import type { Batch, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import { type Decision, decide, idempotencyKey, parseBuildMessage, retryDelay } from "./decide.ts";
import type { DeadLetters } from "./dlq.ts";
import type { GatewayClient } from "./gateway.ts";
import type { CiConsumerMetrics } from "./metrics.ts";

export interface BuildConsumerOptions {
  topic: string;
  groupId: string;
  concurrency: number;
  sessionTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** The batch was given up (partition revoked, consumer stopping): nothing more is committed. */
class Abandoned extends Error {
  constructor() {
    super("batch abandoned: partition revoked or consumer stopping");
    this.name = "Abandoned";
  }
}

type Control = Pick<EachBatchPayload, "heartbeat" | "isRunning" | "isStale">;

export class BuildConsumer {
  readonly consumer: Consumer;
  #assigned: number[] = [];
  #joined = false;
  #crashed: string | null = null;

  constructor(
    kafka: Kafka,
    private readonly o: BuildConsumerOptions,
    private readonly gateway: GatewayClient,
    private readonly dlq: DeadLetters,
    private readonly metrics: CiConsumerMetrics,
    private readonly log: Logger,
  ) {
    this.consumer = kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(o.sessionTimeoutMs / 3)),
      maxBytesPerPartition: 4 * 1024 ** 2,
      // Leaving the group waits for the fetch in flight: a short long-poll keeps shutdown quick.
      maxWaitTimeInMs: 1_000,
    });
    const { GROUP_JOIN, CRASH, STOP } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.#assigned = e.payload.memberAssignment[o.topic] ?? [];
      this.#joined = true;
      this.#crashed = null;
      this.metrics.lag.reset();
      this.log.info({ event: "consumer.assigned", topic: o.topic, partitions: this.#assigned });
    });
    this.consumer.on(CRASH, (e) => {
      this.#joined = false;
      this.#crashed = e.payload.error.name;
      this.log.error({ event: "consumer.crashed", err: e.payload.error, restart: e.payload.restart });
    });
    this.consumer.on(STOP, () => {
      this.#joined = false;
    });
  }

  get assignedPartitions(): number[] {
    return this.#assigned;
  }

  /** In the group (assigned partitions, possibly none) and not crashed since. */
  get joined(): boolean {
    return this.#joined && this.#crashed === null;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    // A new group starts at the beginning: requests published before the first start are built too
    // (and a request seen before is answered by the gateway as the same build).
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.concurrency,
      eachBatch: (payload) => this.#batch(payload),
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  async #batch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) return;
      try {
        await this.#handle(batch, m, payload);
      } catch (err) {
        if (err instanceof Abandoned) {
          this.log.info({ event: "batch.abandoned", partition: batch.partition, offset: m.offset });
          return;
        }
        throw err;
      }
      resolveOffset(m.offset);
      const next = (BigInt(m.offset) + 1n).toString();
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }],
      });
      this.metrics.lag.set({ partition: String(batch.partition) }, lagAfter(batch, next));
    }
  }

  /** Settles one message: accepted by the gateway or in the DLQ. Returns only then. */
  async #handle(batch: Batch, m: KafkaMessage, ctl: Control): Promise<void> {
    const where = { partition: batch.partition, offset: m.offset };
    const parsed = parseBuildMessage(m.value);
    if (!parsed.ok) {
      await this.#deadLetter(m, batch, { code: parsed.code, reason: parsed.reason, status: null }, ctl);
      return;
    }
    const key = idempotencyKey(batch.topic, batch.partition, m.offset);
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const answer = await this.gateway.submitBuild(parsed.body, key);
      this.metrics.gatewaySeconds.observe((performance.now() - started) / 1000);
      this.metrics.gatewayRequests.inc({ status: answer.kind === "answer" ? String(answer.status) : "unreachable" });
      const d: Decision = decide(answer);
      if (d.kind === "accepted") {
        if (attempt > 1) this.metrics.waiting.dec();
        this.metrics.messages.inc({ outcome: d.replayed ? "replayed" : "accepted" });
        this.log.info({
          event: d.replayed ? "build.replayed" : "build.accepted",
          ...where,
          operationId: d.operationId,
          imageId: d.imageId,
          attempts: attempt,
        });
        return;
      }
      if (d.kind === "dead_letter") {
        if (attempt > 1) this.metrics.waiting.dec();
        await this.#deadLetter(m, batch, { code: "rejected", reason: d.reason, status: d.status }, ctl);
        return;
      }
      if (attempt === 1) this.metrics.waiting.inc();
      this.metrics.messages.inc({ outcome: "retried" });
      const delayMs = retryDelay(attempt, d.retryAfterMs, this.o.retryBaseMs, this.o.retryMaxMs);
      // Loud at first and then now and again, not on every attempt of a long outage.
      const level = attempt === 1 || attempt % 20 === 0 ? "warn" : "debug";
      this.log[level]({ event: "build.retry", ...where, attempt, delayMs, reason: d.reason });
      try {
        await sleepWithHeartbeat(delayMs, ctl);
      } catch (err) {
        this.metrics.waiting.dec();
        throw err;
      }
    }
  }

  /** Into the DLQ; a Kafka error is retried in place (the offset is committed only after). */
  async #deadLetter(
    m: KafkaMessage,
    batch: Batch,
    why: { code: "unparsable" | "not_an_object" | "rejected"; reason: string; status: number | null },
    ctl: Control,
  ): Promise<void> {
    const letter = { ...why, topic: batch.topic, partition: batch.partition, offset: m.offset };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dlq.publish(m, letter);
        break;
      } catch (err) {
        if (!ctl.isRunning() || ctl.isStale()) throw new Abandoned();
        const delayMs = retryDelay(attempt, null, this.o.retryBaseMs, this.o.retryMaxMs);
        this.log.warn({ event: "dlq.publish_failed", partition: batch.partition, offset: m.offset, delayMs, err });
        await sleepWithHeartbeat(delayMs, ctl);
      }
    }
    this.metrics.messages.inc({ outcome: "dead_lettered" });
    this.log.warn({
      event: "build.dead_lettered",
      partition: batch.partition,
      offset: m.offset,
      code: why.code,
      status: why.status,
      reason: why.reason,
    });
  }
}

/** Messages of the partition after `next` (the committed position), from the batch's high watermark. */
function lagAfter(batch: Batch, next: string): number {
  const lag = BigInt(batch.highWatermark) - BigInt(next);
  return lag > 0n ? Number(lag) : 0;
}

/**
 * Sleeps `ms` in short steps, heartbeating so the group keeps the partition, and gives up the
 * message (uncommitted) as soon as the consumer stops or the partition is taken away. A heartbeat
 * refused because the group rebalances is thrown to kafkajs, which rejoins and fetches again from
 * the committed offset.
 */
async function sleepWithHeartbeat(ms: number, ctl: Control): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (!ctl.isRunning() || ctl.isStale()) throw new Abandoned();
    const left = until - Date.now();
    if (left <= 0) return;
    await Bun.sleep(Math.min(250, left));
    await ctl.heartbeat();
  }
}
