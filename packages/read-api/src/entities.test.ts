import { expect, test } from "bun:test";
import { HttpProblem } from "@a4c/shared";
import fc from "fast-check";
import { decodeCursor, encodeCursor } from "./entities.ts";

test("property: cursors round-trip", () => {
  fc.assert(
    fc.property(
      fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
      fc.integer({ min: 0, max: 999 }),
      fc.uuid(),
      (d, micros, id) => {
        // PostgreSQL keeps microseconds: the cursor must carry them all.
        const exact = d.toISOString().replace("Z", `${String(micros).padStart(3, "0")}Z`);
        expect(decodeCursor(encodeCursor(exact, id))).toEqual({ createdAt: exact, id });
      },
    ),
  );
});

test("hostile cursors are a 400, never a crash", () => {
  for (const bad of ["", "zzz", "W10", Buffer.from('["x","y"]').toString("base64url"), "a".repeat(10_000)]) {
    expect(() => decodeCursor(bad)).toThrow(HttpProblem);
  }
});
