import { expect, test } from "bun:test";
import { canDeleteWorkspace, canTransitionJob, isTerminalJob, JOB_STATUSES, WORKSPACE_STATUSES } from "./states.ts";

test("terminal job states go nowhere", () => {
  for (const from of JOB_STATUSES.filter(isTerminalJob)) {
    for (const to of JOB_STATUSES) expect(canTransitionJob(from, to)).toBe(false);
  }
});

test("the job lifecycle", () => {
  expect(canTransitionJob("SCHEDULED", "RUNNING")).toBe(true);
  expect(canTransitionJob("SCHEDULED", "SUCCEEDED")).toBe(false);
  expect(canTransitionJob("RUNNING", "SUCCEEDED")).toBe(true);
  expect(canTransitionJob("RUNNING", "FAILED")).toBe(true);
  expect(canTransitionJob("RUNNING", "SCHEDULED")).toBe(true); // a retry after a host failure
});

test("only live workspaces can be deleted", () => {
  expect(WORKSPACE_STATUSES.filter(canDeleteWorkspace)).toEqual(["CREATING", "RUNNING", "FAILED"]);
});
