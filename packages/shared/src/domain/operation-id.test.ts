import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  ENTITIES,
  formatOperationId,
  isValidIdempotencyKey,
  keyHash,
  newOperationId,
  parseOperationId,
} from "./operation-id.ts";

describe("operation ids", () => {
  test("property: format and parse are inverse", () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(fc.constantFrom(...ENTITIES), hex(24), hex(12), (entity, hash, nonce) => {
        const ref = { entity, keyHash: hash, nonce };
        expect(parseOperationId(formatOperationId(ref))).toEqual(ref);
      }),
    );
  });

  test("new ids for the same key differ only in the nonce", () => {
    const h = keyHash("user-1", "key");
    const a = parseOperationId(newOperationId("workspaces", h));
    const b = parseOperationId(newOperationId("workspaces", h));
    expect(a?.keyHash).toBe(h);
    expect(b?.keyHash).toBe(h);
    expect(a?.nonce).not.toBe(b?.nonce);
  });

  test("anything else does not parse", () => {
    for (const bad of [
      "",
      "op-x-0123",
      "op-w-0123456789abcdef01234567-0123456789aZ",
      "op-w-../../etc-0123456789ab",
      "op-w-0123456789abcdef01234567-0123456789ab ",
    ]) {
      expect(parseOperationId(bad)).toBeNull();
    }
  });

  test("key hashes are scoped by principal", () => {
    expect(keyHash("alice", "k")).not.toBe(keyHash("bob", "k"));
    expect(keyHash("alice", "k")).toMatch(/^[0-9a-f]{24}$/);
    // The separator keeps ("a\nb","c") and ("a","b\nc") apart even though keys cannot hold newlines.
    expect(keyHash("ab", "c")).not.toBe(keyHash("a", "bc"));
  });
});

describe("Idempotency-Key validation", () => {
  test("1 to 255 printable ASCII characters", () => {
    expect(isValidIdempotencyKey("a")).toBe(true);
    expect(isValidIdempotencyKey("x".repeat(255))).toBe(true);
    expect(isValidIdempotencyKey("550e8400-e29b-41d4-a716-446655440000")).toBe(true);
    expect(isValidIdempotencyKey("with space")).toBe(true);
  });

  test("empty, blank, too long, control and non-ASCII characters are refused", () => {
    for (const bad of [null, undefined, "", "   ", "x".repeat(256), "tab\there", "new\nline", "clé", "emoji🙂"]) {
      expect(isValidIdempotencyKey(bad)).toBe(false);
    }
  });
});
