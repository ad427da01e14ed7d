import { expect, test } from "bun:test";
import { orphanReason } from "./cleanup-daemon.ts";

const now = Date.parse("2026-12-01T12:00:00Z");
const old = { id: "c1", createdAt: new Date(now - 600_000) };

test("what makes a container an orphan, and what protects it", () => {
  expect(orphanReason(old, null, now, 60_000)).toBe("its workspace does not exist");
  expect(orphanReason(old, { status: "DELETED", container_id: null, busy: false }, now, 60_000)).toBe(
    "its workspace is deleted",
  );
  expect(orphanReason(old, { status: "FAILED", container_id: "c1", busy: false }, now, 60_000)).toBe(
    "its workspace failed",
  );
  expect(orphanReason(old, { status: "RUNNING", container_id: "c2", busy: false }, now, 60_000)).toBe(
    "its workspace runs another container",
  );
  // Needed, being worked on, or too young: left alone.
  expect(orphanReason(old, { status: "RUNNING", container_id: "c1", busy: false }, now, 60_000)).toBeNull();
  expect(orphanReason(old, { status: "FAILED", container_id: "c1", busy: true }, now, 60_000)).toBeNull();
  expect(orphanReason({ id: "c1", createdAt: new Date(now - 1_000) }, null, now, 60_000)).toBeNull();
  // A CREATING workspace whose container is not recorded yet is its job's business (busy).
  expect(orphanReason(old, { status: "CREATING", container_id: null, busy: true }, now, 60_000)).toBeNull();
});
