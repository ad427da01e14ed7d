/**
 * Replay of the writes DLQ, for an operator who fixed what made operations fail. Exactly once,
 * however many replays run, one after another or at once on several processors:
 *
 *   For each `gave_up` message, in ONE PostgreSQL transaction: delete the operation's
 *   `failed`/`gave_up` record, then apply the envelope the way the consumer does (`applyAll` in a
 *   savepoint, a refusal of its data recorded `failed` with its real code); commit; then announce
 *   the settled operation and delete the message from the DLQ stream.
 *   - The apply throws (still failing): roll back; the gave_up record and the message stay.
 *   - No gave_up record to delete, but a record of the operation: it was replayed already (say, a
 *     crash between the commit and the DLQ delete): apply nothing, just delete the message.
 *     The DELETE's row lock serialises two replays of one operation: the second waits for the
 *     first to commit and then finds no gave_up record.
 *   - No record of the operation at all: its give-up is still being recorded, or its record
 *     passed retention (and its key with it): not replayable, the message stays.
 *   - `unparsable` messages: not replayable, skipped.
 */
import {
  classifyPgError,
  type Logger,
  operationExists,
  pgErrorCode,
  releaseGaveUpOperation,
  type Sql,
  UnavailableError,
} from "@a4c/shared";
import type { ReplayItem, WritesReplayReport as ReplayReport } from "@a4c/shared/answers";
import { type ApplyOptions, type ApplyResult, applyOrRecordRefusal, claimFor } from "./apply.ts";
import type { DlqMessage, DlqStream } from "./dlq.ts";
import type { ProcessorMetrics } from "./metrics.ts";

export type { ReplayItem, ReplayOutcome, WritesReplayReport as ReplayReport } from "@a4c/shared/answers";

export interface ReplayOptions extends ApplyOptions {
  /** Told, after the commit, which operation now has a final status (wakes waiting readers). */
  onSettled: (operationIds: string[]) => void;
}

type Settling = Extract<ApplyResult, { kind: "applied" | "failed" }>;

/** The transaction's decision, before the DLQ message is touched. */
type Settled = { kind: "applied"; result: Settling } | { kind: "already_settled" } | { kind: "no_record" };

function outcomeOf(result: Settling): Pick<ReplayItem, "outcome" | "code" | "detail"> {
  return result.kind === "applied"
    ? { outcome: "applied" }
    : { outcome: "failed", code: result.code, detail: result.message };
}

/**
 * An apply that settled nothing (`duplicate`, `key_conflict`) is rolled back. It cannot happen once
 * the gave_up record is gone (that record held the key), but must never commit a lost record.
 */
class NotSettled extends Error {
  constructor(readonly kind: string) {
    super(`the operation's idempotency key is held by another operation (${kind})`);
    this.name = "NotSettled";
  }
}

export class DlqReplayer {
  constructor(
    private readonly sql: Sql,
    private readonly dlq: DlqStream,
    private readonly opts: ReplayOptions,
    private readonly metrics: ProcessorMetrics,
    private readonly log: Logger,
  ) {}

  async replay(): Promise<ReplayReport> {
    const report: ReplayReport = { replayed: 0, stillFailing: 0, skipped: 0, items: [] };
    for await (const m of this.dlq.messages()) {
      const item = await this.#replayOne(m);
      report.items.push(item);
      if (item.outcome === "applied" || item.outcome === "failed") report.replayed++;
      else if (item.outcome === "still_failing") report.stillFailing++;
      else report.skipped++;
      this.metrics.dlqReplays.inc({ outcome: item.outcome });
      this.log.info({ event: "dlq.replay", ...item });
    }
    return report;
  }

  async #replayOne({ entry, envelope }: DlqMessage): Promise<ReplayItem> {
    const base = { seq: entry.seq, operationId: envelope?.operationId ?? entry.operationId };
    if (!entry.replayable || !envelope || entry.sourceSeq === null) {
      return { ...base, outcome: "not_replayable", detail: `a ${entry.reason} message is not replayed` };
    }
    const item = { envelope, claim: claimFor(envelope, entry.sourceSeq) };
    let settled: Settled;
    try {
      settled = await this.sql.begin(async (tx): Promise<Settled> => {
        if (!(await releaseGaveUpOperation(tx, envelope.operationId))) {
          return (await operationExists(tx, envelope.operationId))
            ? { kind: "already_settled" }
            : { kind: "no_record" };
        }
        const result = await applyOrRecordRefusal(tx, item, this.opts, this.log);
        if (result.kind === "duplicate" || result.kind === "key_conflict") throw new NotSettled(result.kind);
        return { kind: "applied", result };
      });
    } catch (err) {
      // An outage stops the whole replay (503); what it did so far stays done, and a new replay
      // continues where it stopped.
      if (classifyPgError(err) === "unavailable") throw new UnavailableError("postgres", { cause: err });
      const detail = err instanceof Error ? err.message.slice(0, 300) : String(err);
      this.log.warn({ event: "dlq.replay_failed", seq: entry.seq, operationId: base.operationId, err });
      return { ...base, outcome: "still_failing", detail, ...(pgErrorCode(err) ? { code: pgErrorCode(err) } : {}) };
    }
    if (settled.kind === "no_record") {
      return {
        ...base,
        outcome: "not_replayable",
        detail: "no record of the operation (give-up in progress or expired)",
      };
    }
    if (settled.kind === "applied") this.opts.onSettled([envelope.operationId]);
    await this.#remove(entry.seq);
    return settled.kind === "applied"
      ? { ...base, ...outcomeOf(settled.result) }
      : { ...base, outcome: "already_settled" };
  }

  /** The effect is committed: a message that cannot be deleted now is `already_settled` next time. */
  async #remove(seq: number): Promise<void> {
    try {
      await this.dlq.remove(seq);
    } catch (err) {
      this.log.warn({ event: "dlq.delete_failed", seq, err });
    }
  }
}
