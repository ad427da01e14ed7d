import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { canonicalJson, requestFingerprint } from "./canonical.ts";

describe("canonicalJson", () => {
  test("sorts keys at every level and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });

  test("property: equal values serialise equally whatever the key order, and parse back", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const shuffled = JSON.parse(JSON.stringify(value), (_k, v) => {
          if (v && typeof v === "object" && !Array.isArray(v)) {
            return Object.fromEntries(Object.entries(v).reverse());
          }
          return v;
        });
        expect(canonicalJson(shuffled)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe("requestFingerprint", () => {
  test("the same request in any key order has one fingerprint", () => {
    const a = requestFingerprint("post", "/v1/x", { id: "1" }, { name: "n", email: "e" });
    const b = requestFingerprint("POST", "/v1/x", { id: "1" }, { email: "e", name: "n" });
    expect(a).toBe(b);
  });

  test("route, params, method and body all tell requests apart", () => {
    const base = requestFingerprint("POST", "/v1/x", { id: "1" }, { a: 1 });
    expect(requestFingerprint("POST", "/v1/y", { id: "1" }, { a: 1 })).not.toBe(base);
    expect(requestFingerprint("POST", "/v1/x", { id: "2" }, { a: 1 })).not.toBe(base);
    expect(requestFingerprint("DELETE", "/v1/x", { id: "1" }, { a: 1 })).not.toBe(base);
    expect(requestFingerprint("POST", "/v1/x", { id: "1" }, { a: 2 })).not.toBe(base);
    expect(requestFingerprint("POST", "/v1/x", { id: "1" }, null)).toBe(
      requestFingerprint("POST", "/v1/x", { id: "1" }, undefined),
    );
  });
});
