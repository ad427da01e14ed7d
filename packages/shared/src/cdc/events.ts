/**
 * Debezium change events as the JSON converter writes them with schemas disabled, and the pure
 * decisions the cache-invalidation consumer makes about them.
 */

export type ChangeOp = "c" | "u" | "d" | "r";

export interface ChangeEvent {
  op: ChangeOp;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: { lsn?: number; txId?: number; table?: string; ts_ms: number; snapshot?: string | boolean };
  ts_ms: number;
}

/** What one message of the Debezium stream is. */
export type FeedMessage =
  | { kind: "change"; table: string; event: ChangeEvent }
  /** Debezium's periodic heartbeat: the feed is alive as of `tsMs`. */
  | { kind: "heartbeat"; tsMs: number }
  | { kind: "unreadable"; reason: string };

/**
 * Classifies a message by its subject (`<prefix>.public.<table>` or `__debezium-heartbeat.<prefix>`)
 * and body. Never throws: a message we cannot read must still be acked and counted.
 */
export function parseFeedMessage(subject: string, prefix: string, body: string): FeedMessage {
  let json: unknown;
  try {
    json = body === "" ? null : JSON.parse(body);
  } catch {
    return { kind: "unreadable", reason: "not json" };
  }
  if (subject === `__debezium-heartbeat.${prefix}`) {
    const ts = (json as { ts_ms?: unknown } | null)?.ts_ms;
    return typeof ts === "number" ? { kind: "heartbeat", tsMs: ts } : { kind: "heartbeat", tsMs: Date.now() };
  }
  const head = `${prefix}.public.`;
  if (!subject.startsWith(head)) return { kind: "unreadable", reason: `unexpected subject ${subject}` };
  const e = json as Partial<ChangeEvent> | null;
  if (!e || typeof e !== "object" || !["c", "u", "d", "r"].includes(String(e.op)) || !e.source) {
    return { kind: "unreadable", reason: "not a change event" };
  }
  return { kind: "change", table: subject.slice(head.length), event: e as ChangeEvent };
}

/** The row's identifying fields, from the after-image or (for a delete) the before-image. */
export function rowOf(e: ChangeEvent): Record<string, unknown> {
  return e.after ?? e.before ?? {};
}

/**
 * Remembers the LSNs of recent changes so a change re-sent by a restarted Debezium (it resumes
 * from offsets flushed up to a second earlier) is invalidated once. Each row change is its own
 * WAL record, so its LSN identifies it; LSNs are not in stream order across concurrent
 * transactions, so this is a membership window, not a high-water mark.
 */
export class LsnWindow {
  readonly #seen = new Set<number>();
  readonly #order: number[] = [];
  #head = 0;

  constructor(private readonly capacity = 100_000) {}

  /** True the first time an LSN is offered, false for a duplicate. */
  offer(lsn: number): boolean {
    if (this.#seen.has(lsn)) return false;
    this.#seen.add(lsn);
    this.#order.push(lsn);
    if (this.#order.length - this.#head > this.capacity) {
      this.#seen.delete(this.#order[this.#head++] as number);
      if (this.#head > this.capacity) {
        this.#order.splice(0, this.#head);
        this.#head = 0;
      }
    }
    return true;
  }

  clear(): void {
    this.#seen.clear();
    this.#order.length = 0;
    this.#head = 0;
  }
}
