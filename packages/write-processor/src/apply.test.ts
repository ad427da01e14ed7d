import { expect, test } from "bun:test";
import { permanentFailure } from "./apply.ts";
import { retryDelayMs } from "./batch.ts";

test("constraint violations become stable failure codes", () => {
  expect(permanentFailure({ code: "23505", constraint_name: "users_email_key" }).code).toBe("email_taken");
  expect(permanentFailure({ code: "23505", constraint_name: "workspace_live_project_key" }).code).toBe(
    "project_exists",
  );
  expect(permanentFailure({ code: "23503", constraint_name: "workspace_user_id_fkey" }).code).toBe("user_not_found");
  expect(permanentFailure({ code: "22P02", message: "bad" })).toEqual({ code: "rejected", message: "bad" });
});

test("retry delays double from 200 ms and stop growing at 10 s", () => {
  expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([200, 400, 800, 1600]);
  expect(retryDelayMs(20)).toBe(10_000);
  expect(retryDelayMs(0)).toBe(200);
});
