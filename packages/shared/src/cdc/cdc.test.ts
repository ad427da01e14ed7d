import { expect, test } from "bun:test";
import fc from "fast-check";
import { type ChangeEvent, LsnWindow, parseFeedMessage } from "./events.ts";
import { cacheKeys, invalidationFor } from "./keys.ts";
import { classifyDelivery, decideResume } from "./progress.ts";

const ev = (op: ChangeEvent["op"], before: Record<string, unknown> | null, after: Record<string, unknown> | null) =>
  ({ op, before, after, source: { lsn: 1, ts_ms: 1 }, ts_ms: 1 }) as ChangeEvent;

test("a workspace change touches the workspace and its owner's list, nothing else", () => {
  const inv = invalidationFor("workspace", ev("u", null, { id: "w1", user_id: "u1" }));
  expect(inv).toEqual({ keys: [cacheKeys.workspace("w1"), cacheKeys.workspaceList("u1")], settled: [], flush: false });
});

test("a workspace that changes owner leaves both lists", () => {
  const inv = invalidationFor("workspace", ev("u", { id: "w1", user_id: "u0" }, { id: "w1", user_id: "u1" }));
  expect(inv.keys.sort()).toEqual(["wsl:u0", "wsl:u1", "ws:w1"].sort());
});

test("a job change touches the job and the status of the operation that created it", () => {
  const inv = invalidationFor("job", ev("c", null, { id: "j1", operation_id: "op-w-1", user_id: "u1" }));
  expect(inv).toEqual({ keys: ["job:j1", "op:op-w-1"], settled: [], flush: false });
});

test("a ledger row settles its operation; its purge only invalidates", () => {
  expect(invalidationFor("write_operations", ev("c", null, { operation_id: "op-u-1" }))).toEqual({
    keys: ["op:op-u-1"],
    settled: ["op-u-1"],
    flush: false,
  });
  expect(invalidationFor("write_operations", ev("d", { operation_id: "op-u-1" }, null)).settled).toEqual([]);
});

test("a delete that only carries the primary key cannot name every key: flush", () => {
  expect(invalidationFor("job", ev("d", { id: "j1" }, null)).flush).toBe(true);
  expect(invalidationFor("workspace", ev("d", { id: "w1" }, null)).flush).toBe(true);
  expect(invalidationFor("users", ev("d", { id: "u1" }, null))).toEqual({
    keys: ["user:u1"],
    settled: [],
    flush: false,
  });
});

test("tables we do not cache touch nothing", () => {
  expect(invalidationFor("hosts", ev("u", null, { id: "h" }))).toEqual({ keys: [], settled: [], flush: false });
});

test("feed messages: changes, heartbeats, garbage", () => {
  expect(parseFeedMessage("cdc.public.job", "cdc", JSON.stringify(ev("c", null, { id: "j" })))).toMatchObject({
    kind: "change",
    table: "job",
  });
  expect(parseFeedMessage("__debezium-heartbeat.cdc", "cdc", '{"ts_ms":42}')).toEqual({ kind: "heartbeat", tsMs: 42 });
  expect(parseFeedMessage("cdc.public.job", "cdc", "{nope").kind).toBe("unreadable");
  expect(parseFeedMessage("cdc.public.job", "cdc", '{"op":"x"}').kind).toBe("unreadable");
  expect(parseFeedMessage("other.public.job", "cdc", "{}").kind).toBe("unreadable");
});

test("property: the LSN window accepts each LSN once while it is remembered", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (lsns) => {
      const w = new LsnWindow(1_000);
      const seen = new Set<number>();
      for (const l of lsns) {
        expect(w.offer(l)).toBe(!seen.has(l));
        seen.add(l);
      }
    }),
  );
});

test("the LSN window forgets the oldest beyond its capacity", () => {
  const w = new LsnWindow(3);
  for (const l of [1, 2, 3, 4]) expect(w.offer(l)).toBe(true);
  expect(w.offer(1)).toBe(true);
  expect(w.offer(4)).toBe(false);
  for (let i = 10; i < 50; i++) w.offer(i);
  expect(w.offer(49)).toBe(false);
});

test("resume: a new consumer or discarded messages flush; a contiguous resume does not", () => {
  expect(decideResume({ created: true, ackFloor: 0, streamFirstSeq: 1 })).toEqual({
    flush: true,
    reason: "new_consumer",
  });
  expect(decideResume({ created: false, ackFloor: 10, streamFirstSeq: 12 })).toEqual({
    flush: true,
    reason: "messages_discarded",
  });
  expect(decideResume({ created: false, ackFloor: 10, streamFirstSeq: 11 })).toEqual({ flush: false });
  expect(decideResume({ created: false, ackFloor: 10, streamFirstSeq: 3 })).toEqual({ flush: false });
});

test("deliveries: next, duplicate (redelivery) or gap (skipped sequences)", () => {
  expect(classifyDelivery(null, 17)).toBe("next");
  expect(classifyDelivery(16, 17)).toBe("next");
  expect(classifyDelivery(16, 16)).toBe("duplicate");
  expect(classifyDelivery(16, 3)).toBe("duplicate");
  expect(classifyDelivery(16, 18)).toBe("gap");
});
