import { describe, expect, test } from "bun:test";
import type { OperationView } from "../api.ts";
import { UsageError } from "../errors.ts";
import { nextPageCommand, searchQuery } from "./jobs.ts";
import { outcomeCode } from "./operation.ts";

const view = (status: OperationView["status"], job?: string): OperationView => ({
  operationId: "op",
  status,
  entity: { type: "workspace", id: "w" },
  links: {},
  ...(job ? { job: { id: "j", status: job, step: null } } : {}),
});

describe("exit code of an operation", () => {
  test("0 when it completed and its job did; 1 when either failed or the job was cancelled", () => {
    expect(outcomeCode(view("completed", "COMPLETED"), null)).toBe(0);
    expect(outcomeCode(view("completed"), null)).toBe(0);
    expect(outcomeCode(view("pending"), null)).toBe(0);
    expect(outcomeCode(view("failed"), null)).toBe(1);
    expect(outcomeCode(view("completed", "IN_PROGRESS"), { status: "FAILED" })).toBe(1);
    expect(outcomeCode(view("completed", "CANCELED"), null)).toBe(1);
  });
});

describe("job search arguments", () => {
  test("words are the query, negations included; an unknown --option is a usage error", () => {
    expect(searchQuery(["status:failed", "-project:x", '"disk full"'])).toBe('status:failed -project:x "disk full"');
    expect(searchQuery([])).toBe("");
    expect(() => searchQuery(["status:failed", "--limt"])).toThrow(UsageError);
  });

  test("the next page repeats the query and options, quoted for a shell", () => {
    expect(nextPageCommand(["status:failed", "disk full"], { limit: 20 }, "c1")).toBe(
      "a4c jobs status:failed 'disk full' --cursor c1",
    );
    expect(nextPageCommand([], { limit: 5, sort: "asc" }, "c2")).toBe("a4c jobs --sort asc --limit 5 --cursor c2");
  });
});
