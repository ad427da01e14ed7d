import {
  classifyDelivery,
  decideResume,
  invalidationFor,
  type JetStreamManager,
  type Logger,
  LsnWindow,
  parseFeedMessage,
} from "@a4c/shared";
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiError,
  type JsMsg,
  jetstream,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import type { ReadCache } from "./cache.ts";
import type { ReadMetrics } from "./metrics.ts";

export interface FeedOptions {
  /** The JetStream stream Debezium A writes into. */
  stream: string;
  /** Debezium's topic.prefix: changes arrive on `<prefix>.public.<table>`. */
  prefix: string;
  /** This instance's durable consumer (one per instance: every instance must see every event). */
  durable: string;
  /** Beyond this lag (or this long without a heartbeat or change), cached values are not trusted. */
  maxLagMs: number;
}

export interface FeedStatus {
  live: boolean;
  attached: boolean;
  lagMs: number | null;
  sinceLastMessageMs: number | null;
  pending: number | null;
}

const BATCH = 256;

/**
 * Reads Debezium's change stream through a durable pull consumer of this instance and, for each
 * change, invalidates exactly the cached names it touches and wakes this instance's status
 * waiters. Any doubt about having seen every change (new consumer, discarded or skipped messages,
 * an invalidation Redis did not take) flushes the whole cache instead.
 */
export class ChangeFeed {
  readonly #lsns = new LsnWindow();
  #stopped = false;
  #messages: ConsumerMessages | null = null;
  #attachedAt: number | null = null;
  #lastMessageAt: number | null = null;
  #lagMs: number | null = null;
  #pending: number | null = null;
  #last: number | null = null;
  #done: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly cache: ReadCache,
    private readonly wake: (operationIds: string[]) => void,
    private readonly metrics: ReadMetrics,
    private readonly log: Logger,
    private readonly opts: FeedOptions,
  ) {}

  start(): void {
    this.#done = this.#run();
  }

  /**
   * Live: attached, and the feed spoke recently enough (Debezium heartbeats every few seconds,
   * so silence means Debezium or the path to it is down) with a last lag within bound.
   */
  status(now = Date.now()): FeedStatus {
    const attached = this.#attachedAt !== null;
    const heard = this.#lastMessageAt ?? this.#attachedAt;
    const since = heard === null ? null : now - heard;
    const live = attached && since !== null && since <= this.opts.maxLagMs && (this.#lagMs ?? 0) <= this.opts.maxLagMs;
    return { live, attached, lagMs: this.#lagMs, sinceLastMessageMs: since, pending: this.#pending };
  }

  async #run(): Promise<void> {
    let backoff = 250;
    while (!this.#stopped) {
      try {
        await this.#attachAndConsume();
        backoff = 250;
      } catch (err) {
        this.log.warn({ event: "cdc.consumer_failed", err: String(err) });
      }
      this.#attachedAt = null;
      if (this.#stopped) break;
      await Bun.sleep(backoff);
      backoff = Math.min(backoff * 2, 5_000);
    }
  }

  async #ensureConsumer(): Promise<boolean> {
    try {
      await this.jsm.consumers.info(this.opts.stream, this.opts.durable);
      return false;
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
    }
    await this.jsm.consumers.add(this.opts.stream, {
      durable_name: this.opts.durable,
      ack_policy: AckPolicy.All,
      // Whatever came before is covered by the flush a new consumer makes.
      deliver_policy: DeliverPolicy.New,
      ack_wait: nanos(30_000),
      max_ack_pending: 20_000,
      // An instance that is gone for good leaves no consumer behind for long.
      inactive_threshold: nanos(3_600_000),
    });
    return true;
  }

  async #attachAndConsume(): Promise<void> {
    const created = await this.#ensureConsumer();
    const info = await this.jsm.consumers.info(this.opts.stream, this.opts.durable);
    const stream = await this.jsm.streams.info(this.opts.stream);
    const decision = decideResume({
      created,
      ackFloor: info.ack_floor.stream_seq,
      streamFirstSeq: stream.state.first_seq,
    });
    this.#lsns.clear();
    if (decision.flush) {
      this.metrics.cdcGaps.inc({ reason: decision.reason });
      await this.cache.flush(decision.reason);
      this.#last = null;
    } else {
      this.#last = info.ack_floor.stream_seq;
    }
    const consumer = await jetstream(this.nc).consumers.get(this.opts.stream, this.opts.durable);
    const messages = await consumer.consume({ max_messages: 1_000, idle_heartbeat: 2_000 });
    this.#messages = messages;
    this.#attachedAt = Date.now();
    this.log.info({ event: "cdc.attached", durable: this.opts.durable, resume: decision, created });
    (async () => {
      for await (const s of messages.status()) {
        // A deleted consumer or stream would be polled forever: re-attach (and decide again) instead.
        if (s.type === "consumer_deleted" || s.type === "stream_not_found" || s.type === "consumer_not_found") {
          this.log.warn({ event: "cdc.consumer_lost", status: s.type });
          await messages.close();
        }
      }
    })().catch(() => {});
    const batch: JsMsg[] = [];
    for await (const m of messages) {
      batch.push(m);
      // Group what is already buffered: one Redis call and one ack for the lot.
      if (batch.length >= BATCH || messages.getPending() === 0) {
        await this.#process(batch.splice(0));
      }
    }
    if (batch.length) await this.#process(batch.splice(0));
  }

  async #process(batch: JsMsg[]): Promise<void> {
    const names = new Set<string>();
    const settled: string[] = [];
    const commits: number[] = [];
    let heartbeat: number | null = null;
    let gap = false;
    let flush = false;
    let last: JsMsg | null = null;
    for (const m of batch) {
      const kind = classifyDelivery(this.#last, m.info.streamSequence);
      if (kind === "duplicate") {
        this.metrics.cdcEvents.inc({ result: "redelivered" });
        continue;
      }
      if (kind === "gap") gap = true;
      this.#last = m.info.streamSequence;
      last = m;
      this.#pending = m.info.pending;
      const msg = parseFeedMessage(m.subject, this.opts.prefix, m.string());
      if (msg.kind === "heartbeat") {
        heartbeat = msg.tsMs;
        this.metrics.cdcEvents.inc({ result: "heartbeat" });
        continue;
      }
      if (msg.kind === "unreadable") {
        this.metrics.cdcEvents.inc({ result: "unreadable" });
        this.log.warn({ event: "cdc.unreadable", subject: m.subject, reason: msg.reason });
        continue;
      }
      const lsn = msg.event.source.lsn;
      if (typeof lsn === "number" && !this.#lsns.offer(lsn)) {
        this.metrics.cdcEvents.inc({ result: "duplicate" });
        continue;
      }
      const inv = invalidationFor(msg.table, msg.event);
      for (const k of inv.keys) names.add(k);
      settled.push(...inv.settled);
      flush ||= inv.flush;
      commits.push(msg.event.source.ts_ms);
      this.metrics.cdcEvents.inc({ result: inv.keys.length || inv.flush ? "invalidated" : "ignored" });
    }
    if (gap) {
      this.metrics.cdcGaps.inc({ reason: "sequence_skipped" });
      this.log.warn({ event: "cdc.gap", seq: last?.info.streamSequence });
    }
    if (gap || flush || this.cache.flushOwed) {
      await this.cache.flush(gap ? "sequence_skipped" : flush ? "unnamed_keys" : "owed");
    } else {
      try {
        await this.cache.invalidate([...names]);
      } catch (err) {
        // The cache now owes a flush and is bypassed until Redis takes it (see ReadCache).
        this.log.warn({ event: "cdc.invalidate_failed", err: String(err) });
      }
    }
    // Waiters re-read the status themselves; waking is safe even if Redis was not.
    if (settled.length) this.wake(settled);
    const now = Date.now();
    this.#lastMessageAt = now;
    for (const ts of commits) this.metrics.cdcLag.observe(Math.max(0, now - ts) / 1000);
    // A batch of heartbeats only: the lag is the newest heartbeat's age.
    const newest = commits.length ? Math.max(...commits) : heartbeat;
    if (newest !== null) this.#lagMs = Math.max(0, now - newest);
    // AckPolicy.All: the last message acknowledges the batch.
    last?.ack();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#messages?.close().catch(() => {});
    await this.#done;
  }
}
