import {
  actorId,
  cacheKeys,
  classifyPgError,
  findStoredRequest,
  getOperation,
  getOperations,
  getRejectedOperation,
  isTerminal,
  type JetStreamManager,
  type OperationRef,
  type OperationView,
  type Principal,
  parseOperationId,
  type Sql,
  type StreamNames,
  UnavailableError,
  viewFromPending,
  viewFromRecord,
} from "@a4c/shared";
import type { ReadCache } from "./cache.ts";
import type { ReadMetrics } from "./metrics.ts";

interface Owned {
  owner: string;
  view: OperationView;
}

/**
 * Answers "what became of operation X" from, in order: the cache (finished operations only),
 * PostgreSQL's ledger, and the write stream itself. The stream holds every accepted request,
 * so an accepted operation is `pending` — never 404 — until the ledger has it, with or without Redis.
 */
export class StatusService {
  constructor(
    private readonly sql: Sql,
    private readonly jsm: JetStreamManager,
    private readonly names: StreamNames,
    private readonly cache: ReadCache,
    private readonly metrics: ReadMetrics,
  ) {}

  /** The operation as this principal may see it; null when unknown or not theirs. */
  async get(operationId: string, principal: Principal): Promise<OperationView | null> {
    const ref = parseOperationId(operationId);
    if (!ref) return null;
    const found = await this.#find(operationId, ref);
    if (!found) return null;
    if (principal.kind !== "admin" && found.owner !== actorId(principal)) return null;
    return found.view;
  }

  async #find(operationId: string, ref: OperationRef): Promise<Owned | null> {
    let postgresDown: unknown = null;
    try {
      // Only ledger rows are cached: `pending` comes from the stream and must never be remembered.
      // The job the status embeds moves on; its change events invalidate this name too.
      const { value, hit } = await this.cache.lookup<Owned>(
        "status",
        cacheKeys.operation(operationId),
        "",
        async () => {
          const record = await getOperation(this.sql, operationId);
          return record ? { owner: record.user_id, view: viewFromRecord(record) } : null;
        },
      );
      if (value) {
        this.metrics.statusSource.inc({ source: hit ? "cache" : "postgres" });
        return value;
      }
    } catch (err) {
      if (classifyPgError(err) === "permanent") throw err;
      postgresDown = err;
    }
    let stored: Awaited<ReturnType<typeof findStoredRequest>>;
    try {
      stored = await findStoredRequest(this.jsm, this.names, ref.entity, ref.keyHash);
    } catch (err) {
      throw new UnavailableError(postgresDown ? "postgres and jetstream" : "jetstream", { cause: err });
    }
    if (stored && stored.envelope.operationId === operationId) {
      this.metrics.statusSource.inc({ source: "stream" });
      return { owner: stored.envelope.actor, view: viewFromPending(stored.envelope) };
    }
    // Not in the ledger and not waiting in the stream: unknown, unless the ledger could not be
    // asked, or the processor rejected the message as unreadable (rare, so asked last).
    if (postgresDown) throw new UnavailableError("postgres", { cause: postgresDown });
    return stored ? null : this.#rejected(operationId, ref);
  }

  /** A message the processor could not read; its owner is unknown, so only the admin sees it. */
  async #rejected(operationId: string, ref: OperationRef): Promise<Owned | null> {
    const rejected = await getRejectedOperation(this.sql, operationId);
    if (!rejected) return null;
    return {
      owner: "admin",
      view: {
        operationId,
        status: "failed",
        entity: { type: ref.entity, id: "" },
        error: { code: "unparsable", message: rejected.reason },
        links: { self: `/status/${operationId}` },
      },
    };
  }
}

/**
 * Long-poll and event-stream waiters. They wake when a processor announces that their operation
 * settled (the fast path) or when the ledger row's change event arrives (the path that cannot be
 * missed: it comes from PostgreSQL's log). Only while that change feed is not live does one
 * shared poller ask PostgreSQL every `intervalMs` for all operations anyone waits on.
 */
export class CompletionWaiters {
  readonly #waiting = new Map<string, Set<() => void>>();
  /** Operations seen settling recently, so a waiter that registers just after its wake still returns. */
  readonly #settled = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly intervalMs: number,
    private readonly feedLive: () => boolean = () => false,
    private readonly rememberMs = 60_000,
  ) {}

  get size(): number {
    return this.#waiting.size;
  }

  /** Resolves when the operation is in the ledger, or after `timeoutMs`, or when `signal` aborts. */
  wait(operationId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      // Consumed once, so a status that still reads pending cannot make a caller spin.
      if (this.#settled.delete(operationId)) return resolve();
      const done = () => {
        clearTimeout(timer);
        const set = this.#waiting.get(operationId);
        set?.delete(done);
        if (set?.size === 0) this.#waiting.delete(operationId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      const set = this.#waiting.get(operationId) ?? new Set();
      set.add(done);
      this.#waiting.set(operationId, set);
      this.#timer ??= setInterval(() => void this.#poll(), this.intervalMs);
    });
  }

  /** Wakes the waiters of these operations (they re-read the status themselves). */
  wake(operationIds: string[]): void {
    const now = Date.now();
    for (const id of operationIds) {
      const set = this.#waiting.get(id);
      if (set) for (const done of [...set]) done();
      else this.#remember(id, now);
    }
  }

  #remember(id: string, now: number): void {
    this.#settled.set(id, now);
    // Map iteration is insertion order: drop the expired (and, past a bound, the oldest) first.
    for (const [old, at] of this.#settled) {
      if (at > now - this.rememberMs && this.#settled.size <= 100_000) break;
      this.#settled.delete(old);
    }
  }

  async #poll(): Promise<void> {
    if (this.#waiting.size === 0) {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
      return;
    }
    if (this.feedLive()) return;
    try {
      const done = await getOperations(this.sql, [...this.#waiting.keys()]);
      this.wake(done.map((r) => r.operation_id));
    } catch {
      // PostgreSQL unavailable: waiters keep waiting until their timeout.
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    for (const set of this.#waiting.values()) for (const wake of [...set]) wake();
  }
}

export { isTerminal };
