import { expect, test } from "bun:test";
import { permanentFailure } from "./apply.ts";
import { retryDelayMs } from "./batch.ts";

test("constraint violations become stable failure codes", () => {
  expect(permanentFailure({ code: "23505", constraint_name: "users_email_key" }).code).toBe("email_taken");
  expect(permanentFailure({ code: "23505", constraint_name: "workspace_live_project_key" }).code).toBe(
    "project_exists",
  );
  expect(permanentFailure({ code: "23503", constraint_name: "workspace_user_id_fkey" }).code).toBe("user_not_found");
  // Never the database's own text: it is shown to the client (issue 10, defect 3).
  const raw = 'invalid byte sequence for encoding "UTF8": 0x00';
  expect(permanentFailure({ code: "22021", message: raw })).toEqual({
    code: "invalid_data",
    message: "the request holds a value the database cannot store",
  });
  expect(permanentFailure({ code: "23505", constraint_name: "other_key", message: raw }).message).not.toContain("UTF8");
  expect(permanentFailure({ code: "42P01", message: raw })).toEqual({
    code: "rejected",
    message: "the database refused the operation",
  });
});

test("retry delays double from 200 ms and stop growing at 10 s", () => {
  expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([200, 400, 800, 1600]);
  expect(retryDelayMs(20)).toBe(10_000);
  expect(retryDelayMs(0)).toBe(200);
});
