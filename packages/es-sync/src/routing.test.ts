import { describe, expect, test } from "bun:test";
import { classifyItem } from "./bulk-result.ts";
import { diffVersions, idsToRepair } from "./reconcile-diff.ts";
import { retryMessage, routeFailure } from "./retry.ts";
import { syncTopics } from "./topics.ts";

const topics = syncTopics("cdc.public.job", [1_000, 10_000, 60_000]);

describe("retry routing", () => {
  test("failures walk the retry topics with growing delays, then the DLQ", () => {
    expect(routeFailure(topics, 1)).toEqual({ kind: "retry", topic: "cdc.public.job.retry.1", delayMs: 1_000 });
    expect(routeFailure(topics, 2)).toEqual({ kind: "retry", topic: "cdc.public.job.retry.2", delayMs: 10_000 });
    expect(routeFailure(topics, 3)).toEqual({ kind: "retry", topic: "cdc.public.job.retry.3", delayMs: 60_000 });
    expect(routeFailure(topics, 4)).toEqual({ kind: "dlq", topic: "cdc.public.job.dlq" });
  });

  test("a retry message counts attempts, keeps the first failure time and sets its due time", () => {
    const failure = { id: "j", version: 3, error: "mapper_parsing_exception" };
    const first = retryMessage({ failure, previous: null }, topics, 1_000);
    expect(first.message).toMatchObject({ attempts: 1, dueAtMs: 2_000, version: 3 });
    const second = retryMessage({ failure, previous: first.message }, topics, 5_000);
    expect(second.message).toMatchObject({ attempts: 2, dueAtMs: 15_000, firstFailedAt: first.message.firstFailedAt });
    expect(retryMessage({ failure, previous: null, final: true }, topics, 0).route.kind).toBe("dlq");
  });
});

describe("bulk items", () => {
  test("409 is stale, a delete's 404 reached its goal, other errors fail", () => {
    expect(classifyItem("index", { status: 201, result: "created" })).toEqual({ kind: "written" });
    expect(classifyItem("index", { status: 409, error: { type: "version_conflict_engine_exception" } })).toEqual({
      kind: "stale",
    });
    expect(classifyItem("delete", { status: 404, result: "not_found" })).toEqual({ kind: "written" });
    expect(classifyItem("index", { status: 400, error: { type: "document_parsing_exception", reason: "x" } })).toEqual({
      kind: "failed",
      status: 400,
      error: "document_parsing_exception: x",
    });
    expect(classifyItem("index", undefined).kind).toBe("failed");
  });
});

describe("reconciler diff", () => {
  test("missing, stale, extra and ahead are told apart; repairs cover the first three", () => {
    const pg = new Map([
      ["a", 1],
      ["b", 3],
      ["c", 2],
      ["d", 1],
    ]);
    const es = new Map([
      ["b", 2],
      ["c", 2],
      ["d", 5],
      ["x", 4],
    ]);
    const diff = diffVersions(pg, es);
    expect(diff).toEqual({
      postgresCount: 4,
      elasticsearchCount: 4,
      missing: ["a"],
      stale: ["b"],
      extra: ["x"],
      ahead: ["d"],
    });
    expect(idsToRepair(diff)).toEqual(["a", "b", "x"]);
  });
});
