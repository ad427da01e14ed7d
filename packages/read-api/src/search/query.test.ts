import { describe, expect, test } from "bun:test";
import { decodeCursor, encodeCursor, HttpProblem } from "@a4c/shared";
import fc from "fast-check";
import { buildQuery } from "./elasticsearch.ts";
import { MAX_TERMS, parseJobQuery, parseQ, toSpec } from "./query.ts";

const USER = "0b0e6f3c-6a43-4c8e-9d43-3d1b2f0a8e11";
const user = { kind: "user", userId: USER } as const;

/** A 400 problem, or a query: never any other exception. */
function outcome(run: () => unknown): "ok" | "400" {
  try {
    run();
    return "ok";
  } catch (err) {
    if (err instanceof HttpProblem && err.status === 400) return "400";
    throw err;
  }
}

describe("parseQ", () => {
  test("the syntax of ARCHITECTURE §4", () => {
    expect(parseQ('status:failed type:workspace_create project:backend-api owner:me "disk full"')).toEqual([
      [{ field: "status", value: "FAILED", negated: false }],
      [{ field: "type", value: "WORKSPACE_CREATE", negated: false }],
      [{ field: "project", value: "backend-api", negated: false }],
      [{ field: "owner", value: "me", negated: false }],
      [{ field: "text", value: "disk full", phrase: true, negated: false }],
    ]);
  });

  test("OR joins neighbours, - negates, bare words are text", () => {
    expect(parseQ("status:running status:succeeded status:cancelled")).toEqual([
      [{ field: "status", value: "IN_PROGRESS", negated: false }],
      [{ field: "status", value: "COMPLETED", negated: false }],
      [{ field: "status", value: "CANCELED", negated: false }],
    ]);
    expect(parseQ('status:failed OR status:canceled -type:image_build timeout -"no space"')).toEqual([
      [
        { field: "status", value: "FAILED", negated: false },
        { field: "status", value: "CANCELED", negated: false },
      ],
      [{ field: "type", value: "IMAGE_BUILD", negated: true }],
      [{ field: "text", value: "timeout", phrase: false, negated: false }],
      [{ field: "text", value: "no space", phrase: true, negated: true }],
    ]);
  });

  test("quoted values with escapes stay values", () => {
    expect(parseQ('project:"my \\"app\\""')).toEqual([[{ field: "project", value: 'my "app"', negated: false }]]);
  });

  test.each([
    ['status:"x\\" OR 1=1"', /unknown status/],
    ["status:bogus", /unknown status/],
    ["colour:red", /unknown field/],
    ['"unterminated', /unterminated/],
    ["OR status:failed", /OR must stand/],
    ["status:failed OR", /OR must stand/],
    ["a OR OR b", /OR must stand/],
    ["*", /letter or digit/],
    ["- x", /must be followed/],
    ["owner:someone", /owner must be/],
    ["status:", /needs a value/],
    ["a\u0000b", /control character/],
    ["\ud800", /invalid unicode/],
    ["x".repeat(1_001), /at most 1000/],
    [Array.from({ length: MAX_TERMS + 1 }, (_, i) => `w${i}`).join(" "), /at most 20 terms/],
  ])("%# refuses %p", (q, message) => {
    expect(() => parseQ(q)).toThrow(message);
    expect(outcome(() => parseQ(q))).toBe("400");
  });
});

describe("parseJobQuery", () => {
  test("defaults", () => {
    expect(parseJobQuery({})).toEqual({ clauses: [], from: null, to: null, order: "desc", after: null, limit: 20 });
  });

  test("dates, sort, cursor and limit", () => {
    const cursor = encodeCursor("2026-01-02T03:04:05.123456Z", USER);
    const q = parseJobQuery({
      from: "2026-01-01",
      to: "2026-02-01T00:00:00Z",
      sort: "createdAt:asc",
      cursor,
      limit: "5",
    });
    expect(q.from?.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(q.order).toBe("asc");
    expect(q.after).toEqual({ createdAt: "2026-01-02T03:04:05.123456Z", id: USER });
    expect(q.limit).toBe(5);
  });

  test.each([
    [{ from: "yesterday" }, /from must be/],
    [{ from: "2026-01-01T10:00" }, /from must be/],
    [{ from: "2026-02-01", to: "2026-01-01" }, /before/],
    [{ sort: "status" }, /sort must be/],
    [{ cursor: "nope" }, /invalid cursor/],
    [{ cursor: encodeCursor("2026-01-01T00:00:00Z", "-".repeat(36)) }, /invalid cursor/],
    // Issue 10: what PostgreSQL (the fallback) would refuse with a 500.
    [{ cursor: encodeCursor("2026-02-30T00:00:00Z", USER) }, /invalid cursor/],
    [{ cursor: encodeCursor("0000-01-01T00:00:00Z", USER) }, /invalid cursor/],
    [{ cursor: encodeCursor("2026-01-01T00:00:00Z", "a".repeat(36)) }, /invalid cursor/],
    [{ from: "2026-02-30" }, /from must be/],
    [{ from: "0000-01-01T00:00:00Z" }, /from must be/],
    [{ to: "2026-01-01T24:00:00Z" }, /to must be/],
    [{ to: "2026-01-01T10:00:00+99:00" }, /to must be/],
    [{ q: "disk\u0000full" }, /control characters/],
    [{ q: "\ud800" }, /well-formed/],
    [{ limit: "0" }, /limit/],
    [{ limit: "1e2" }, /limit/],
  ])("%# refuses %p", (params, message) => {
    expect(() => parseJobQuery(params)).toThrow(message);
  });

  test("cursors round-trip", () => {
    expect(decodeCursor(encodeCursor("2026-01-02T03:04:05.123Z", USER))).toEqual({
      createdAt: "2026-01-02T03:04:05.123Z",
      id: USER,
    });
  });
});

describe("toSpec", () => {
  test("a user is confined to its own jobs; owner:me is the caller", () => {
    const spec = toSpec(parseJobQuery({ q: "owner:me" }), user);
    expect(spec.ownerId).toBe(USER);
    expect(spec.clauses).toEqual([[{ field: "owner", value: USER, negated: false }]]);
  });

  test("the admin sees everything, but owns nothing", () => {
    expect(toSpec(parseJobQuery({ q: "status:failed" }), { kind: "admin" }).ownerId).toBeNull();
    expect(outcome(() => toSpec(parseJobQuery({ q: "owner:me" }), { kind: "admin" }))).toBe("400");
  });

  test("host: filters by the host's name on both backends' terms", () => {
    const spec = toSpec(parseJobQuery({ q: "host:Host-3 -host:host-1" }), { kind: "admin" });
    expect(spec.clauses).toEqual([
      [{ field: "host", value: "host-3", negated: false }],
      [{ field: "host", value: "host-1", negated: true }],
    ]);
    expect(buildQuery(spec)).toEqual({
      bool: { filter: [{ term: { hostName: "host-3" } }, { bool: { must_not: [{ term: { hostName: "host-1" } }] } }] },
    });
    expect(() => parseJobQuery({ q: "host:a_b" })).toThrow(/host must be a host name/);
  });

  test("repository: (any case) and image: (exact) filter image builds and the images jobs run", () => {
    const tag = "a4c/team/app:0123456789abcdef0123456789abcdef01234567";
    const spec = toSpec(parseJobQuery({ q: `repository:Team/App -image:${tag} type:image_build` }), { kind: "admin" });
    expect(spec.clauses).toEqual([
      [{ field: "repository", value: "team/app", negated: false }],
      [{ field: "image", value: tag, negated: true }],
      [{ field: "type", value: "IMAGE_BUILD", negated: false }],
    ]);
    expect(buildQuery(spec)).toEqual({
      bool: {
        filter: [
          { term: { repository: "team/app" } },
          { bool: { must_not: [{ term: { image: tag } }] } },
          { term: { type: "image_build" } },
        ],
      },
    });
    expect(() => parseQ("repository:team//app")).toThrow(/repository must be/);
    expect(() => parseQ('image:"a b"')).toThrow(/image must be/);
  });

  test("a CI token may not search (403), whatever the query", () => {
    expect(() => toSpec(parseJobQuery({ q: "type:image_build" }), { kind: "ci", tokenId: USER })).toThrow(
      expect.objectContaining({ status: 403 }),
    );
  });

  test("the Elasticsearch query carries values only as typed values", () => {
    const spec = toSpec(parseJobQuery({ q: 'status:failed OR -type:image_build "disk full" boom' }), user);
    expect(buildQuery(spec)).toEqual({
      bool: {
        filter: [
          { term: { userId: USER } },
          {
            bool: {
              should: [{ term: { status: "failed" } }, { bool: { must_not: [{ term: { type: "image_build" } }] } }],
              minimum_should_match: 1,
            },
          },
          { match_phrase: { errorMessage: "disk full" } },
          { match: { errorMessage: { query: "boom", operator: "and" } } },
        ],
      },
    });
  });
});

describe("hostile input (property)", () => {
  const pieces = fc.constantFrom(
    "status:",
    "type:",
    "project:",
    "owner:",
    "owner:me",
    "repository:",
    "image:",
    "team/app",
    "failed",
    "OR",
    "-",
    '"',
    "\\",
    '\\"',
    " ",
    "*",
    ":",
    "\u0000",
    "é",
    "🙂",
    "\ud800",
    "' OR 1=1 --",
    '{"query_string":',
    "workspace_create",
  );
  const hostile = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.array(pieces, { maxLength: 40 }).map((p) => p.join("")),
    fc.string({ minLength: 9_000, maxLength: 10_500 }),
  );

  test("q → a 400 problem or a valid query, never another exception", () => {
    fc.assert(
      fc.property(hostile, (q) => {
        const result = outcome(() => {
          const spec = toSpec(parseJobQuery({ q }), user);
          // A valid query is a well-formed one: every term is typed, confined to the caller.
          expect(spec.ownerId).toBe(USER);
          for (const t of spec.clauses.flat()) {
            expect(["status", "type", "project", "owner", "repository", "image", "text"]).toContain(t.field);
            expect(t.value.length).toBeGreaterThan(0);
            expect(t.value.length).toBeLessThanOrEqual(256);
          }
          buildQuery(spec);
        });
        expect(["ok", "400"]).toContain(result);
      }),
      { numRuns: 1_000 },
    );
  });

  test("the other parameters → a 400 problem or a valid query", () => {
    fc.assert(
      fc.property(
        fc.record({ from: hostile, to: hostile, sort: hostile, cursor: hostile, limit: hostile }, { requiredKeys: [] }),
        (params) => {
          expect(["ok", "400"]).toContain(outcome(() => parseJobQuery(params)));
        },
      ),
      { numRuns: 500 },
    );
  });

  test("generated valid queries parse to what was written", () => {
    const status = fc.constantFrom("failed", "IN_PROGRESS", "Scheduled");
    fc.assert(
      fc.property(fc.array(status, { minLength: 1, maxLength: 5 }), fc.boolean(), (values, negated) => {
        const q = values.map((v) => `${negated ? "-" : ""}status:${v}`).join(" OR ");
        const [clause] = parseQ(q);
        expect(clause?.map((t) => t.value)).toEqual(values.map((v) => v.toUpperCase()) as never);
        expect(clause?.every((t) => t.negated === negated)).toBe(true);
      }),
    );
  });
});
