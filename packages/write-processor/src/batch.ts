import {
  classifyPgError,
  decodeEnvelope,
  type Entity,
  type Envelope,
  insertFailedOperation,
  type Logger,
  type OperationClaim,
  parseOperationId,
  pgErrorCode,
  recordRejectedMessage,
  type Sql,
  type StreamNames,
  type TransactionSql,
  UnavailableError,
} from "@a4c/shared";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { type ApplyOptions, type ApplyResult, applyAll, applyOrRecordRefusal, claimFor } from "./apply.ts";
import { type DlqReason, dlqHeaders } from "./dlq.ts";
import type { ProcessorMetrics } from "./metrics.ts";

interface Item {
  msg: JsMsg;
  envelope: Envelope;
  claim: OperationClaim;
}

export interface BatchOptions extends ApplyOptions {
  entity: Entity;
  maxDeliveries: number;
  /** Told, after the commit, which operations now have a final status (wakes waiting readers). */
  onSettled?: (operationIds: string[]) => void;
}

/** Retry delay for a message that failed `deliveries` times: 200 ms doubling, at most 10 s. */
export function retryDelayMs(deliveries: number): number {
  return Math.min(200 * 2 ** Math.max(deliveries - 1, 0), 10_000);
}

/**
 * Applies a batch of stored write requests to PostgreSQL, exactly once each, and acknowledges
 * each message only after the transaction holding its effect (or its recorded failure) committed.
 *
 * Fast path: one transaction, one pipelined statement per message. If PostgreSQL refuses some
 * message's data, the batch is re-run with a savepoint per message so that message is recorded
 * `failed` and the others still apply. Outages wait in place (order kept, nothing given up);
 * other errors are retried per message with backoff, then given up to the DLQ.
 */
export class BatchProcessor {
  constructor(
    private readonly sql: Sql,
    private readonly js: JetStreamClient,
    private readonly names: StreamNames,
    private readonly opts: BatchOptions,
    private readonly metrics: ProcessorMetrics,
    private readonly log: Logger,
    private readonly stopping: () => boolean,
  ) {}

  async process(msgs: JsMsg[]): Promise<void> {
    const items: Item[] = [];
    const rejects: JsMsg[] = [];
    const seen = new Set<string>();
    for (const msg of msgs) {
      const envelope = decodeEnvelope(msg.data);
      if (!envelope) rejects.push(msg);
      else if (!seen.has(envelope.operationId)) {
        seen.add(envelope.operationId);
        items.push({ msg, envelope, claim: claimFor(envelope, msg.seq) });
      }
      // Else: a redelivery of the message already in this batch (same stream sequence): the
      // first copy's ack settles it, so it must be neither acked nor NAKed on its own.
    }
    if (rejects.length > 0) await this.#whileUnavailable(rejects, () => this.#reject(rejects));
    if (items.length > 0)
      await this.#whileUnavailable(
        items.map((i) => i.msg),
        () => this.#apply(items),
      );
  }

  /** Runs `work` until it gets past a PostgreSQL outage, keeping the messages' ack deadlines alive. */
  async #whileUnavailable(msgs: JsMsg[], work: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await work();
        if (attempt > 0) {
          this.metrics.postgresUnavailable.set(0);
          this.log.info({ event: "apply.dependency_back", attempts: attempt });
        }
        return;
      } catch (err) {
        if (!(err instanceof UnavailableError) && classifyPgError(err) !== "unavailable") throw err;
        this.metrics.postgresUnavailable.set(1);
        if (attempt === 0) {
          const dependency = err instanceof UnavailableError ? err.dependency : "postgres";
          this.log.warn({
            event: "apply.waiting_for_dependency",
            dependency,
            code: pgErrorCode(err),
            waiting: msgs.length,
          });
        }
        if (this.stopping()) {
          for (const m of msgs) m.nak();
          return;
        }
        for (const m of msgs) m.working();
        await Bun.sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
    }
  }

  async #apply(items: Item[]): Promise<void> {
    const started = performance.now();
    try {
      let results: ApplyResult[];
      try {
        results = await this.sql.begin((tx) => this.#run(tx, items, false));
      } catch (err) {
        if (classifyPgError(err) !== "permanent") throw err;
        results = await this.sql.begin((tx) => this.#run(tx, items, true));
      }
      this.metrics.batchSize.observe({ entity: this.opts.entity }, items.length);
      this.metrics.batchSeconds.observe({ entity: this.opts.entity }, (performance.now() - started) / 1000);
      this.#settle(items, results);
    } catch (err) {
      if (classifyPgError(err) === "unavailable") throw err;
      if (items.length > 1) {
        // Find the message at fault: each on its own from here.
        for (const item of items) await this.#apply([item]);
        return;
      }
      const [item] = items as [Item];
      await this.#retryOrGiveUp(item, err);
    }
  }

  async #run(tx: TransactionSql, items: Item[], isolate: boolean): Promise<ApplyResult[]> {
    // Pipelined statements fail in order, so the first rejection is the cause, not "aborted".
    if (!isolate) return applyAll(tx, items, this.opts);
    const results: ApplyResult[] = [];
    for (const item of items) results.push(await applyOrRecordRefusal(tx, item, this.opts, this.log));
    return results;
  }

  #settle(items: Item[], results: ApplyResult[]): void {
    const now = Date.now();
    this.opts.onSettled?.(items.map((i) => i.claim.operationId));
    for (const [n, item] of items.entries()) {
      const result = results[n] as ApplyResult;
      const outcome = result.kind === "applied" ? "completed" : result.kind;
      this.metrics.messages.inc({ entity: this.opts.entity, outcome });
      if (result.kind === "applied" || result.kind === "failed") {
        this.metrics.acceptToCommit.observe(
          { entity: this.opts.entity },
          (now - Date.parse(item.envelope.acceptedAt)) / 1000,
        );
      }
      if (result.kind === "key_conflict") {
        this.log.error({ event: "operation.key_conflict", operationId: item.claim.operationId });
      }
      item.msg.ack();
    }
  }

  async #retryOrGiveUp(item: Item, err: unknown): Promise<void> {
    const deliveries = item.msg.info.deliveryCount;
    const operationId = item.claim.operationId;
    if (deliveries < this.opts.maxDeliveries) {
      const delay = retryDelayMs(deliveries);
      this.log.warn({ event: "operation.retry", operationId, deliveries, delayMs: delay, err });
      this.metrics.messages.inc({ entity: this.opts.entity, outcome: "retried" });
      item.msg.nak(delay);
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    await this.#toDlq(item.msg, "gave_up", message, parseOperationId(operationId)?.keyHash ?? "unknown");
    await this.sql.begin((tx) =>
      insertFailedOperation(
        tx,
        item.claim,
        "gave_up",
        `gave up after ${deliveries} deliveries; the request is kept in the dead-letter queue for an operator`,
      ),
    );
    this.log.error({ event: "operation.gave_up", operationId, deliveries, err });
    this.opts.onSettled?.([operationId]);
    this.metrics.messages.inc({ entity: this.opts.entity, outcome: "gave_up" });
    item.msg.ack();
  }

  async #reject(msgs: JsMsg[]): Promise<void> {
    for (const msg of msgs) {
      const header = msg.headers?.get("Nats-Msg-Id") ?? "";
      const operationId = parseOperationId(header) ? header : null;
      const reason = "unparsable: not a valid write envelope";
      await this.#toDlq(msg, "unparsable", reason, msg.subject.split(".").pop() ?? "unknown");
      await recordRejectedMessage(this.sql, {
        seq: msg.seq,
        subject: msg.subject,
        operationId,
        reason,
        payload: msg.data,
      });
      this.log.error({ event: "message.rejected", seq: msg.seq, subject: msg.subject, operationId });
      this.metrics.messages.inc({ entity: this.opts.entity, outcome: "rejected" });
      msg.term(reason);
    }
  }

  /** Keeps a copy of a message that will not be applied, with why, in the DLQ stream. */
  async #toDlq(msg: JsMsg, code: DlqReason, reason: string, keyHash: string): Promise<void> {
    const h = dlqHeaders({
      reason: code,
      detail: reason,
      sourceSeq: msg.seq,
      sourceSubject: msg.subject,
      operationId: msg.headers?.get("Nats-Msg-Id") || null,
    });
    try {
      await this.js.publish(this.names.dlqSubject(this.opts.entity, keyHash), msg.data, {
        headers: h,
        msgID: `dlq-${msg.seq}`,
      });
    } catch (err) {
      // Without the DLQ copy the message must not be acked: wait and try again.
      throw new UnavailableError("jetstream", { cause: err });
    }
  }
}
