import { expect, test } from "bun:test";
import { classifyPgError } from "./client.ts";

test("outages are `unavailable`, never given up", () => {
  for (const code of ["ECONNREFUSED", "CONNECTION_CLOSED", "CONNECT_TIMEOUT", "57P01", "57P03", "08006", "53300"]) {
    expect(classifyPgError({ code })).toBe("unavailable");
  }
});

test("refused data is `permanent`", () => {
  for (const code of ["23505", "23503", "23514", "22P02", "42703"]) expect(classifyPgError({ code })).toBe("permanent");
});

test("serialization failures, deadlocks and unknown errors are `transient`", () => {
  for (const err of [{ code: "40001" }, { code: "40P01" }, new Error("boom"), "weird"]) {
    expect(classifyPgError(err)).toBe("transient");
  }
});
