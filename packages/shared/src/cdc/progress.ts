/**
 * Whether the invalidation feed is gap-free: every change committed since the cache was last
 * flushed must have been seen. Pure decisions over stream sequences, so they are unit-tested.
 */

export type ResumeDecision = { flush: false } | { flush: true; reason: "new_consumer" | "messages_discarded" };

/**
 * On (re)attaching to the durable consumer. A new consumer has no history: whatever happened
 * before it existed is unknown. An existing one resumes after its ack floor, unless the stream
 * has since dropped messages it had not processed (DebeziumStream discards the oldest when full).
 */
export function decideResume(a: { created: boolean; ackFloor: number; streamFirstSeq: number }): ResumeDecision {
  if (a.created) return { flush: true, reason: "new_consumer" };
  if (a.streamFirstSeq > a.ackFloor + 1) return { flush: true, reason: "messages_discarded" };
  return { flush: false };
}

export type Delivery = "next" | "duplicate" | "gap";

/**
 * The consumer reads the whole stream (no filter), so consecutive deliveries have consecutive
 * stream sequences; anything else either repeats (a redelivery) or skipped messages.
 * `last` is null right after a flush, when nothing earlier matters.
 */
export function classifyDelivery(last: number | null, seq: number): Delivery {
  if (last === null || seq === last + 1) return "next";
  return seq <= last ? "duplicate" : "gap";
}
