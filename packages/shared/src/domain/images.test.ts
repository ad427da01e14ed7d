import { describe, expect, test } from "bun:test";
import { contextBytes, imageTag, REPOSITORY_PATTERN, requestedBuildIds, uuidFromHash } from "./images.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sha = "0123456789abcdef0123456789abcdef01234567";

describe("build ids", () => {
  test("the same repository and commit give the same ids, valid UUIDs (version 8), whatever else differs", () => {
    const a = requestedBuildIds("team/app", sha);
    expect(requestedBuildIds("team/app", sha)).toEqual(a);
    expect(a.imageId).toMatch(UUID);
    expect(a.jobId).toMatch(UUID);
    expect(a.imageId).not.toBe(a.jobId);
    expect(requestedBuildIds("team/app2", sha).imageId).not.toBe(a.imageId);
    expect(requestedBuildIds("team/app", sha.replace("0", "1")).imageId).not.toBe(a.imageId);
  });

  test("uuidFromHash: many inputs, all well-formed and distinct", () => {
    const ids = new Set(Array.from({ length: 2_000 }, (_, i) => uuidFromHash(`x${i}`)));
    expect(ids.size).toBe(2_000);
    for (const id of ids) expect(id).toMatch(UUID);
  });
});

describe("tags", () => {
  test("a request's tag is the commit; a schedule's adds its tick and the random end of the schedule's id", () => {
    expect(imageTag("team/app", sha)).toBe(`a4c/team/app:${sha}`);
    const at = new Date("2026-12-02T03:00:00.000Z");
    // Two UUIDv7 made in the same millisecond share their first hex digits, not their last.
    const one = imageTag("team/app", sha, { at, scheduleId: "01a235c0-14d7-7025-8c9a-6932dbb8f53c" });
    const two = imageTag("team/app", sha, { at, scheduleId: "01a235c0-14d7-7025-9d1e-00ab12cd34ef" });
    expect(one).toBe(`a4c/team/app:${sha}-s20261202030000-dbb8f53c`);
    expect(one).not.toBe(two);
    // Within Docker's limit for a tag (128 characters), even with a SHA-256 commit.
    expect(imageTag("a/b", "f".repeat(64), { at, scheduleId: crypto.randomUUID() }).split(":")[1]?.length).toBeLessThan(
      128,
    );
  });

  test("repository names: Docker's lowercase path components", () => {
    const ok = new RegExp(REPOSITORY_PATTERN);
    for (const name of ["app", "team/app", "team/back-end_api.v2", "a/b/c/d"]) expect(ok.test(name)).toBe(true);
    for (const name of ["Team/app", "../etc", "/app", "app/", "a//b", "a/b/c/d/e", "-app", "app-"]) {
      expect({ name, ok: ok.test(name) }).toEqual({ name, ok: false });
    }
  });

  test("the context's size counts the Dockerfile, the paths and the files, in bytes", () => {
    expect(contextBytes("FROM x", { "a.txt": "é" })).toBe(6 + 5 + 2);
  });
});
