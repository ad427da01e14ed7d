import { expect, test } from "bun:test";
import { canDeleteWorkspace, canTransitionJob, isTerminalJob, JOB_STATUSES, WORKSPACE_STATUSES } from "./states.ts";

test("terminal job states go nowhere", () => {
  for (const from of JOB_STATUSES.filter(isTerminalJob)) {
    for (const to of JOB_STATUSES) expect(canTransitionJob(from, to)).toBe(false);
  }
});

test("the job lifecycle", () => {
  expect(canTransitionJob("SCHEDULED", "IN_PROGRESS")).toBe(true);
  expect(canTransitionJob("SCHEDULED", "COMPLETED")).toBe(false);
  expect(canTransitionJob("IN_PROGRESS", "COMPLETED")).toBe(true);
  expect(canTransitionJob("IN_PROGRESS", "FAILED")).toBe(true);
  expect(canTransitionJob("IN_PROGRESS", "CANCELED")).toBe(true);
  expect(canTransitionJob("IN_PROGRESS", "SCHEDULED")).toBe(true); // waiting for a host again
});

test("only live workspaces can be deleted", () => {
  expect(WORKSPACE_STATUSES.filter(canDeleteWorkspace)).toEqual(["CREATING", "RUNNING", "FAILED"]);
});
