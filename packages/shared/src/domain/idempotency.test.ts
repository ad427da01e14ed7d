import { expect, test } from "bun:test";
import type { Envelope } from "./commands.ts";
import { resolveKeyConflict } from "./idempotency.ts";

const stored: Envelope = {
  v: 1,
  operationId: "op-w-0123456789abcdef01234567-0123456789ab",
  actor: "user-a",
  idempotencyKey: "k",
  fingerprint: "f1",
  acceptedAt: new Date(0).toISOString(),
  command: {
    type: "workspace.delete",
    userId: "00000000-0000-0000-0000-000000000001",
    workspaceId: "00000000-0000-0000-0000-000000000002",
    jobId: "00000000-0000-0000-0000-000000000003",
  },
};

test("our own earlier publish that landed is ours, not a replay", () => {
  expect(resolveKeyConflict(stored, { operationId: stored.operationId, fingerprint: "f1", actor: "user-a" })).toEqual({
    kind: "own",
  });
});

test("the same request again is a replay of the stored operation", () => {
  expect(resolveKeyConflict(stored, { operationId: "other", fingerprint: "f1", actor: "user-a" })).toEqual({
    kind: "replay",
    stored,
  });
});

test("a different request under the same key is a mismatch", () => {
  expect(resolveKeyConflict(stored, { operationId: "other", fingerprint: "f2", actor: "user-a" })).toEqual({
    kind: "mismatch",
  });
  expect(resolveKeyConflict(stored, { operationId: "other", fingerprint: "f1", actor: "user-b" })).toEqual({
    kind: "mismatch",
  });
});
