/**
 * When to try a request again. Pure, so the rules are tested without a server:
 *  - 503 and 429 are retried after their Retry-After (seconds or an HTTP date), or a backoff
 *    when it is missing, until the whole command has waited `budgetMs`;
 *  - a connection that fails or times out is retried too (a restarting front door), but only for
 *    `connectBudgetMs`: a wrong URL should fail in seconds, not in a minute;
 *  - anything else is an answer, good or bad, and is never retried.
 * Writes keep their Idempotency-Key on every attempt, so a retry never creates twice.
 */
export interface RetryPolicy {
  budgetMs: number;
  connectBudgetMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 60_000, connectBudgetMs: 5_000 };

export type Outcome = { kind: "status"; status: number; retryAfter: string | null } | { kind: "network" };

const MAX_BACKOFF_MS = 5_000;

/** Retry-After as milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === "") return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function backoffMs(attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.max(0, attempt - 1));
}

export function isRetryable(outcome: Outcome): boolean {
  return outcome.kind === "network" || outcome.status === 503 || outcome.status === 429;
}

/**
 * How long to wait before attempt `attempt + 1`, given what attempt `attempt` (1-based) met and
 * how long the command has spent so far; null to give up.
 */
export function nextDelay(outcome: Outcome, attempt: number, elapsedMs: number, policy: RetryPolicy): number | null {
  if (!isRetryable(outcome)) return null;
  const budget = outcome.kind === "network" ? Math.min(policy.connectBudgetMs, policy.budgetMs) : policy.budgetMs;
  const asked = outcome.kind === "status" ? retryAfterMs(outcome.retryAfter) : null;
  const delay = Math.max(asked ?? backoffMs(attempt), 100);
  if (elapsedMs + delay > budget) return null;
  return delay;
}

/** The key one invocation sends with its write, on every attempt. */
export function newIdempotencyKey(): string {
  return `a4c-cli-${crypto.randomUUID()}`;
}
