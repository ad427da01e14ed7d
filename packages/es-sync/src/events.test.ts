import { describe, expect, test } from "bun:test";
import { type JobChange, newestPerJob, parseJobChange } from "./events.ts";

const ch = (id: string, version: number | null, lsn: number, deleted = false): JobChange => ({
  id,
  version,
  deleted,
  lsn,
  committedAtMs: null,
});

describe("parseJobChange", () => {
  test("an update carries the after-image's version and the LSN", () => {
    const value = JSON.stringify({
      op: "u",
      before: null,
      after: { id: "j1", version: 3 },
      source: { lsn: 42, ts_ms: 1000 },
    });
    expect(parseJobChange(value)).toEqual({ id: "j1", version: 3, deleted: false, lsn: 42, committedAtMs: 1000 });
  });

  test("a delete has no version (its before-image holds only the key)", () => {
    const value = JSON.stringify({ op: "d", before: { id: "j1", version: null }, after: null, source: { lsn: 9 } });
    expect(parseJobChange(value)).toMatchObject({ id: "j1", version: null, deleted: true });
  });

  test("tombstones are nothing to index; garbage throws", () => {
    expect(parseJobChange(null)).toBeNull();
    expect(() => parseJobChange(JSON.stringify({ hello: 1 }))).toThrow();
    expect(() => parseJobChange("{not json")).toThrow();
  });

  test("the key names the job when the images do not", () => {
    const value = JSON.stringify({ op: "d", before: null, after: null, source: { lsn: 1 } });
    expect(parseJobChange(value, JSON.stringify({ id: "k1" }))?.id).toBe("k1");
  });
});

describe("newestPerJob", () => {
  test("keeps the highest version of each job, whatever the arrival order", () => {
    const out = newestPerJob([ch("a", 2, 20), ch("b", 1, 5), ch("a", 3, 30), ch("a", 1, 10)]);
    expect(out.find((c) => c.id === "a")?.version).toBe(3);
    expect(out.find((c) => c.id === "b")?.version).toBe(1);
    expect(out).toHaveLength(2);
  });

  test("equal versions: the later LSN wins; a delete outranks every version", () => {
    expect(newestPerJob([ch("a", 2, 20), ch("a", 2, 25)])[0]?.lsn).toBe(25);
    expect(newestPerJob([ch("a", null, 40, true), ch("a", 9, 50)])[0]?.deleted).toBe(true);
  });

  test("a redelivered older version never replaces a newer one", () => {
    expect(newestPerJob([ch("a", 5, 50), ch("a", 4, 40), ch("a", 4, 40)])[0]?.version).toBe(5);
  });
});
