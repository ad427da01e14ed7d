import { expect, test } from "bun:test";
import { hostnameFor } from "./workspace-steps.ts";

test("hostnames: the id's random end, and a first label of at most 63 characters", () => {
  const id = "01a2345f-4b48-72ce-9337-394f9453a548";
  expect(hostnameFor("backend-api", id, "host-1", "a4c.internal")).toBe("backend-api-9453a548.host-1.a4c.internal");
  const long = hostnameFor(`${"a".repeat(53)}-b${"c".repeat(8)}`, id, "host-2", "a4c.internal");
  const label = long.split(".")[0] ?? "";
  expect(label.length).toBeLessThanOrEqual(63);
  expect(label).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  expect(label.endsWith("-9453a548")).toBe(true);
});
