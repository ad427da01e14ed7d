import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { HttpProblem } from "./errors.ts";
import { isExactInstant } from "./instant.ts";

const ID = "0b0e6f3c-6a43-4c8e-9d43-3d1b2f0a8e11";

describe("cursors", () => {
  test("property: round-trip at PostgreSQL's microsecond precision", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999 }),
        fc.uuid(),
        (d, micros, id) => {
          const exact = d.toISOString().replace("Z", `${String(micros).padStart(3, "0")}Z`);
          expect(decodeCursor(encodeCursor(exact, id))).toEqual({ createdAt: exact, id });
        },
      ),
    );
  });

  // Issue 10, defect 1: each of these reached PostgreSQL and came back as a 500.
  test.each([
    ["36 dashes", encodeCursor("2026-01-01T00:00:00Z", "-".repeat(36))],
    ["36 hex digits, no dashes", encodeCursor("2026-01-01T00:00:00Z", "a".repeat(36))],
    ["upper-case UUID", encodeCursor("2026-01-01T00:00:00Z", ID.toUpperCase())],
    ["30 February", encodeCursor("2026-02-30T00:00:00Z", ID)],
    ["29 February of a common year", encodeCursor("2025-02-29T00:00:00Z", ID)],
    ["year 0", encodeCursor("0000-01-01T00:00:00Z", ID)],
    ["hour 24", encodeCursor("2026-01-01T24:00:00Z", ID)],
    ["not base64url", "W10=!"],
    ["too long", "a".repeat(10_000)],
    ["three items", Buffer.from(JSON.stringify(["2026-01-01T00:00:00Z", ID, 1])).toString("base64url")],
  ])("%s is a 400", (_what, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(HttpProblem);
  });

  test("property: any string is a cursor or a 400, never another error", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.json().map((j) => Buffer.from(j).toString("base64url")),
        ),
        (s) => {
          try {
            decodeCursor(s);
          } catch (err) {
            expect(err).toBeInstanceOf(HttpProblem);
          }
        },
      ),
    );
  });
});

describe("isExactInstant", () => {
  test.each([
    ["2024-02-29T00:00:00Z", true],
    ["2026-12-31T23:59:59.999999Z", true],
    ["0001-01-01T00:00:00Z", true],
    ["2026-04-31T00:00:00Z", false],
    ["2026-00-10T00:00:00Z", false],
    ["2026-01-01T00:60:00Z", false],
    ["2026-01-01T00:00:00+01:00", false],
  ])("%s → %p", (s, ok) => {
    expect(isExactInstant(s)).toBe(ok);
  });
});
