import { describe, expect, test } from "bun:test";
import type { JobStep } from "./api.ts";
import { colorsFor } from "./render.ts";
import { StepTracker, stepLine } from "./steps.ts";

const step = (name: string, status: string, startedAt: string | null = null, finishedAt: string | null = null) =>
  ({ name, status, attempts: 1, startedAt, finishedAt, message: null }) as JobStep;

describe("StepTracker", () => {
  test("reports each step once as it starts and once as it ends, in order, none missed", () => {
    const t = new StepTracker();
    expect(t.update([step("place", "pending"), step("setup", "pending")])).toEqual([]);
    expect(t.update([step("place", "running"), step("setup", "pending")]).map((e) => e.kind)).toEqual(["started"]);
    // The stream skipped a quick step: both ends are reported, place first.
    const e = t.update([step("place", "done"), step("setup", "done")]);
    expect(e.map((x) => [x.kind, x.step.name])).toEqual([
      ["finished", "place"],
      ["finished", "setup"],
    ]);
    expect(t.update([step("place", "done"), step("setup", "done")])).toEqual([]);
    // A compensated step is news again.
    expect(t.update([step("place", "compensated")]).map((x) => x.kind)).toEqual(["finished"]);
  });

  test("a plain line names the step, its status and how long it took", () => {
    const c = colorsFor({ isTTY: false }, {});
    const s = { ...step("container_create", "done", "2025-01-01T00:00:00Z", "2025-01-01T00:00:01.25Z"), message: "ok" };
    expect(stepLine(c, s, false)).toBe("  container_create done      1.3s  ok");
    expect(stepLine(c, s, true)).toBe("✔ container_create  1.3s  ok");
  });
});
