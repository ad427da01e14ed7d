/**
 * The ci-consumer's decisions, free of I/O: what a message on `ci.builds` is, which Idempotency-Key
 * it is sent with, what the gateway's answer means for the message (commit, dead-letter or try
 * again) and how long to wait before trying again.
 */

/** Why a message went to the DLQ: not JSON, JSON but not an object, or refused by the gateway. */
export type DeadLetterCode = "unparsable" | "not_an_object" | "rejected";

export type ParsedMessage =
  | { ok: true; body: Uint8Array }
  | { ok: false; code: Exclude<DeadLetterCode, "rejected">; reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A build request is a JSON object; its bytes are sent to the gateway as they are (the gateway
 * validates the fields). Anything else cannot become a request.
 */
export function parseBuildMessage(value: Uint8Array | null): ParsedMessage {
  if (value === null || value.length === 0) return { ok: false, code: "unparsable", reason: "empty message" };
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { ok: false, code: "unparsable", reason: "not UTF-8 text" };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: "unparsable", reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : `a ${typeof parsed}`;
    return { ok: false, code: "not_an_object", reason: `JSON ${kind}, not an object` };
  }
  return { ok: true, body: value };
}

/**
 * One key per message, stable across redeliveries: a message sent again after a crash (before its
 * offset was committed) is a replay of the same request for the gateway, never a second one.
 */
export function idempotencyKey(topic: string, partition: number, offset: string): string {
  return `kafka:${topic}:${partition}:${offset}`;
}

/** What came back from the gateway, or why nothing did. */
export type GatewayAnswer =
  | { kind: "answer"; status: number; retryAfter: string | null; replayed: boolean; body: unknown }
  | { kind: "unreachable"; error: string };

export type Decision =
  | { kind: "accepted"; replayed: boolean; operationId: string | null; imageId: string | null }
  | { kind: "dead_letter"; status: number; reason: string }
  | { kind: "retry"; reason: string; retryAfterMs: number | null };

/**
 * Statuses that may succeed later: 401 and 403 (this consumer's token is wrong or not yet known:
 * a fault of the consumer's configuration, not of the message — dead-lettering would send the
 * whole topic to the DLQ until it is fixed), 404 (a gateway without the route yet,
 * mid-deployment), 408, 425, 429 and every 5xx. Any other 4xx cannot succeed by sending the same
 * message again.
 */
const RETRYABLE_4XX = new Set([401, 403, 404, 408, 425, 429]);

export function decide(answer: GatewayAnswer, nowMs = Date.now()): Decision {
  if (answer.kind === "unreachable") return { kind: "retry", reason: answer.error, retryAfterMs: null };
  const { status, body } = answer;
  if (status === 202) {
    const b = (body ?? {}) as Record<string, unknown>;
    return {
      kind: "accepted",
      replayed: answer.replayed,
      operationId: typeof b.operationId === "string" ? b.operationId : null,
      imageId: typeof b.imageId === "string" ? b.imageId : null,
    };
  }
  if (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) {
    return { kind: "dead_letter", status, reason: problemText(status, body) };
  }
  // 5xx, 429 and the like; also anything the gateway never answers (1xx-3xx, another 2xx): not
  // understood is not committed.
  return { kind: "retry", reason: problemText(status, body), retryAfterMs: parseRetryAfter(answer.retryAfter, nowMs) };
}

/** The problem's detail (our gateway's own words), else its title, else the bare status. */
export function problemText(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const p = body as Record<string, unknown>;
    if (typeof p.detail === "string" && p.detail) return p.detail;
    if (typeof p.title === "string" && p.title) return `${status} ${p.title}`;
  }
  if (typeof body === "string" && body.trim()) return `${status}: ${body.trim().slice(0, 200)}`;
  return `HTTP ${status}`;
}

/** Retry-After as delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, nowMs = Date.now()): number | null {
  if (header === null) return null;
  const v = header.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/**
 * The wait before attempt `attempt + 1` (attempt ≥ 1): what the gateway asked for with Retry-After,
 * else `baseMs` doubling; always within [baseMs, maxMs], so no wait is unbounded.
 */
export function retryDelay(attempt: number, retryAfterMs: number | null, baseMs: number, maxMs: number): number {
  const backoff = baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  const wanted = retryAfterMs ?? backoff;
  return Math.min(Math.max(wanted, baseMs), maxMs);
}

export const DLQ_HEADER = {
  code: "a4c-dlq-code",
  reason: "a4c-dlq-reason",
  status: "a4c-dlq-status",
  topic: "a4c-source-topic",
  partition: "a4c-source-partition",
  offset: "a4c-source-offset",
  at: "a4c-dead-lettered-at",
  replayedFrom: "a4c-replayed-from",
} as const;

/** Header values stay readable and bounded (a problem detail is short; a JSON error may quote input). */
const MAX_HEADER = 1_000;

export interface DeadLetter {
  code: DeadLetterCode;
  reason: string;
  status: number | null;
  topic: string;
  partition: number;
  offset: string;
}

export function deadLetterHeaders(d: DeadLetter, at: Date): Record<string, string> {
  const headers: Record<string, string> = {
    [DLQ_HEADER.code]: d.code,
    [DLQ_HEADER.reason]: d.reason.slice(0, MAX_HEADER),
    [DLQ_HEADER.topic]: d.topic,
    [DLQ_HEADER.partition]: String(d.partition),
    [DLQ_HEADER.offset]: d.offset,
    [DLQ_HEADER.at]: at.toISOString(),
  };
  if (d.status !== null) headers[DLQ_HEADER.status] = String(d.status);
  return headers;
}

/** Kafka headers as strings (kafkajs gives Buffers, or arrays of them for repeated names). */
export function headerText(headers: Record<string, unknown> | undefined, name: string): string | null {
  const v = headers?.[name];
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined || one === null) return null;
  return Buffer.isBuffer(one) ? one.toString("utf8") : String(one);
}

/** Only requests the gateway refused can be sent again; unparsable bytes would only come back. */
export const isReplayable = (code: string | null): boolean => code === "rejected";
