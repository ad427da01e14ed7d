/**
 * What a careless or hostile client sends, as fast-check arbitraries: identifiers (real ones of
 * both users, random, malformed, badly escaped), strings with control characters, lone surrogates
 * and huge lengths, crafted cursors and dates, bodies of every shape and encoding, and headers.
 */
import fc from "fast-check";

/** `s` with lone surrogates replaced: what URL encoding and URLSearchParams can carry. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "x");

/** Text with what breaks naive code: NUL and other controls, lone surrogates, emoji, quotes, long runs. */
export const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udfffy",
    "\u001b[31mred",
    "\u0085",
    "'; DROP TABLE users; --",
    '"quoted"',
    "\\",
    "%",
    "../../etc/passwd",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection payload, literally.
    "${jndi:ldap://127.0.0.1/a}",
    "<script>alert(1)</script>",
    "🦄".repeat(30),
    "-".repeat(36),
    "a".repeat(36),
    "A".repeat(5_000),
    " ",
    "",
  ),
);

/** An instant a client might put in a cursor or a window: real, impossible, or out of range. */
export const nastyInstant = fc.oneof(
  fc
    .date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00.000001Z",
    "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "10000-01-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T10:00:00+99:00",
    "2026-01-01",
    "-000001-01-01T00:00:00Z",
    "yesterday",
  ),
  nastyString,
);

/** Cursors: well-formed JSON pairs of nasty parts, other JSON, and plain junk. */
export function nastyCursor(ids: string[]) {
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return fc.oneof(
    fc.tuple(nastyInstant, fc.oneof(fc.constantFrom(...ids), fc.uuid(), nastyString)).map(encode),
    fc.jsonValue().map(encode),
    fc.base64String({ maxLength: 300 }),
    nastyString,
  );
}

/** A path segment: a real id, a random UUID, nasty text percent-encoded, or raw bad escapes. */
export function pathSegment(ids: string[]) {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ids) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: nastyString.map((s) => encodeURIComponent(wellFormed(s))) },
    {
      weight: 2,
      arbitrary: fc.constantFrom("%", "%zz", "%E0%A4%A", "%00", "%C0%AF", "..", "%2e%2e", "a%2Fb", "%ud800", "%FF%FE"),
    },
  );
}

/** A query string: the route's own keys and random ones, each with nasty or plausible values. */
export function queryString(keys: string[], values: fc.Arbitrary<string>) {
  const key = fc.oneof(fc.constantFrom(...keys, "x"), fc.string({ maxLength: 10 }));
  return fc.array(fc.tuple(key, values), { maxLength: 4 }).chain((pairs) =>
    fc.boolean().map((raw) =>
      raw
        ? pairs.map(([k, v]) => `${k}=${v.replace(/[\s#]/g, "")}`).join("&") // unescaped: whatever the client typed
        : new URLSearchParams(pairs.map(([k, v]): [string, string] => [wellFormed(k), wellFormed(v)])).toString(),
    ),
  );
}

export type Principal = "none" | "garbage" | "attacker" | "admin";

/** Mostly callers who get past authentication, so the checks behind it are reached too. */
export const principal = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Principal>("none") },
  { weight: 1, arbitrary: fc.constant<Principal>("garbage") },
  { weight: 4, arbitrary: fc.constant<Principal>("attacker") },
  { weight: 2, arbitrary: fc.constant<Principal>("admin") },
);

export const garbageAuthorization = fc.oneof(
  fc.constantFrom(
    "Bearer",
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    "bearer a4c_x",
    "Bearer a b",
    `Bearer ${"t".repeat(600)}`,
  ),
  fc
    .string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 })
    .map((t) => `Bearer ${t}`),
);

/** Header values fetch can send: printable ASCII (what a client controls), or absent. */
export const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 300,
});

export const idempotencyKey = fc.option(fc.oneof(fc.uuid(), headerValue), { nil: undefined });

export const contentType = fc.option(
  fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "application/merge-patch+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/jsonx",
    "",
  ),
  { nil: undefined },
);

/** A request body as sent on the wire. `chunked` streams `size` bytes without a Content-Length. */
export type Body =
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "chunked"; size: number };

/** Bodies: plausible objects with nasty values (`fields` names the route's own), any JSON, junk, huge. */
export function body(fields: string[]): fc.Arbitrary<Body> {
  const value = fc.oneof(nastyString, fc.jsonValue({ maxDepth: 2 }));
  const plausible = fc.dictionary(fc.oneof(fc.constantFrom(...fields), nastyString), value, { maxKeys: 4 });
  return fc.oneof(
    { weight: 4, arbitrary: plausible.map((o) => ({ kind: "text" as const, text: JSON.stringify(o) })) },
    {
      weight: 2,
      arbitrary: fc
        .jsonValue({ maxDepth: 3 })
        .map((v) => ({ kind: "text" as const, text: JSON.stringify(v) ?? "null" })),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ kind: "text" as const, text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: "bytes" as const, bytes })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { kind: "text" as const, text: `{"a":${"[".repeat(5_000)}` },
        { kind: "text" as const, text: JSON.stringify({ name: "x".repeat(2 << 20) }) },
        { kind: "chunked" as const, size: 256 << 10 },
        { kind: "chunked" as const, size: 3 << 20 },
      ),
    },
  );
}
