import { describe, expect, test } from "bun:test";
import {
  contextBytes,
  dockerfileProblem,
  imageTag,
  REPOSITORY_PATTERN,
  requestedBuildIds,
  uuidFromHash,
} from "./images.ts";

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

describe("dockerfileProblem", () => {
  test("what builds here: our images, stages, scratch, local files", () => {
    for (const ok of [
      "FROM a4c/base:latest\nCOPY . /app\nRUN make",
      "FROM a4c/base:latest AS build\nRUN make\nFROM a4c/team/app:abc\nCOPY --from=build /out /app",
      "# syntax comment\nFROM scratch\nADD rootfs.tar /",
      "FROM a4c/base:latest\nRUN echo one \\\n  && echo two",
      'from a4c/base:latest\nadd ["a.txt", "/a.txt"]',
    ]) {
      expect({ ok, problem: dockerfileProblem(ok) }).toEqual({ ok, problem: null });
    }
  });

  test("what would reach a network or pull: refused with the line", () => {
    const cases: Array<[string, string]> = [
      ["FROM debian:12\nRUN true", "line 1: FROM debian:12 is not an image the hosts have"],
      ["FROM a4c/base:latest\nADD http://169.254.169.254/latest /x", "line 2: ADD from a URL"],
      ['FROM a4c/base:latest\nADD ["https://example.com/a", "/a"]', "line 2: ADD from a URL"],
      ["FROM a4c/base:latest\nADD git@github.com:org/repo.git /src", "line 2: ADD from a URL"],
      ["FROM a4c/base:latest\nCOPY --from=alpine:3 /bin/sh /sh", "line 2: COPY --from=alpine:3"],
      ["FROM a4c/base:latest\nONBUILD ADD http://x/y /y", "line 2: ADD from a URL"],
      ["ARG IMG=debian\nFROM $IMG", "line 2: FROM must name an image"],
      ["FROM \\\n  ubuntu", "line 1: FROM ubuntu"],
      ["RUN true", "no FROM"],
    ];
    for (const [dockerfile, problem] of cases) expect(dockerfileProblem(dockerfile)).toContain(problem);
  });
});
