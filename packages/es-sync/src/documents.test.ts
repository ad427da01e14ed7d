import { describe, expect, test } from "bun:test";
import type { SearchSyncRow } from "@a4c/shared";
import { planOps, toJobDocument } from "./documents.ts";

const row: SearchSyncRow = {
  id: "11111111-1111-1111-1111-111111111111",
  type: "WORKSPACE_CREATE",
  status: "FAILED",
  step: "pull",
  user_id: "u1",
  owner_name: "Ada",
  owner_email: "ada@example.com",
  workspace_id: "w1",
  project_name: "backend-api",
  image: "a4c/base:latest",
  repository: null,
  operation_id: "op-1",
  attempts: 2,
  error_code: "DISK_FULL",
  error_message: "disk full on host-3",
  created_at: new Date("2026-01-01T00:00:00Z"),
  updated_at: new Date("2026-01-01T00:01:00Z"),
  started_at: null,
  finished_at: new Date("2026-01-01T00:02:00Z"),
  host_id: "h3",
  host_name: "host-3",
  version: "7",
};

describe("documents", () => {
  test("a row becomes the JobDocument with ISO dates and a numeric version", () => {
    expect(toJobDocument(row)).toEqual({
      id: row.id,
      type: "WORKSPACE_CREATE",
      status: "FAILED",
      step: "pull",
      userId: "u1",
      ownerName: "Ada",
      hostId: "h3",
      hostName: "host-3",
      ownerEmail: "ada@example.com",
      workspaceId: "w1",
      projectName: "backend-api",
      image: "a4c/base:latest",
      repository: null,
      operationId: "op-1",
      attempts: 2,
      errorCode: "DISK_FULL",
      errorMessage: "disk full on host-3",
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:01:00.000Z",
      startedAt: null,
      finishedAt: "2026-01-01T00:02:00.000Z",
      version: 7,
    });
  });

  test("an image build: no owner, its tag as the image and its repository", () => {
    const build: SearchSyncRow = {
      ...row,
      type: "IMAGE_BUILD",
      user_id: null,
      owner_name: null,
      owner_email: null,
      workspace_id: null,
      project_name: null,
      image: "a4c/team/app:0123456789abcdef0123456789abcdef01234567",
      repository: "team/app",
    };
    expect(toJobDocument(build)).toMatchObject({
      type: "IMAGE_BUILD",
      userId: null,
      ownerName: null,
      image: build.image,
      repository: "team/app",
    });
  });

  test("ids with a row are indexed at the row's version; ids without one are deleted", () => {
    const ops = planOps([row.id, "gone"], [row]);
    expect(ops[0]).toMatchObject({ kind: "index", id: row.id, version: 7 });
    expect(ops[1]).toEqual({ kind: "delete", id: "gone" });
  });
});
