import { describe, expect, test } from "bun:test";
import { backoffMs, newIdempotencyKey, nextDelay, retryAfterMs } from "./retry.ts";

const policy = { budgetMs: 60_000, connectBudgetMs: 5_000 };
const status = (s: number, retryAfter: string | null = null) => ({ kind: "status", status: s, retryAfter }) as const;

describe("Retry-After", () => {
  test("seconds, an HTTP date, or nothing usable", () => {
    expect(retryAfterMs("3")).toBe(3_000);
    expect(retryAfterMs(" 0 ")).toBe(0);
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs("Wed, 01 Jan 2025 00:00:05 GMT", now)).toBe(5_000);
    expect(retryAfterMs("Tue, 31 Dec 2024 00:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs("soon")).toBeNull();
  });
});

describe("nextDelay", () => {
  test("503 and 429 wait what Retry-After says, until the budget is spent", () => {
    expect(nextDelay(status(503, "1"), 1, 0, policy)).toBe(1_000);
    expect(nextDelay(status(429, "2"), 5, 10_000, policy)).toBe(2_000);
    expect(nextDelay(status(503, "1"), 60, 59_500, policy)).toBeNull();
  });

  test("without Retry-After: a growing backoff, capped", () => {
    expect(nextDelay(status(503), 1, 0, policy)).toBe(250);
    expect(nextDelay(status(503), 3, 0, policy)).toBe(1_000);
    expect(backoffMs(20)).toBe(5_000);
  });

  test("connection failures are retried only for the shorter connect budget", () => {
    expect(nextDelay({ kind: "network" }, 1, 0, policy)).toBe(250);
    expect(nextDelay({ kind: "network" }, 4, 4_000, policy)).toBeNull();
  });

  test("every other answer is final", () => {
    for (const s of [200, 400, 401, 403, 404, 409, 422, 500, 502, 504]) {
      expect(nextDelay(status(s, "1"), 1, 0, policy)).toBeNull();
    }
  });

  test("a key per invocation, valid for the gateway (printable ASCII, at most 255)", () => {
    const a = newIdempotencyKey();
    expect(a).not.toBe(newIdempotencyKey());
    expect(a).toMatch(/^[\x21-\x7e]{1,255}$/);
  });
});
