import { describe, expect, test } from "bun:test";
import type { Image, Schedule } from "../api.ts";
import { colorsFor } from "../render.ts";
import { buildTag, contextSummary, hostsText, imageLines, imageSummary, imagesTable } from "./images.ts";
import { schedulesTable } from "./schedules.ts";

const plain = colorsFor({ isTTY: false }, {});
const SHA = "3f2c9a0e1b7d4c6a8e5f1b2c9d8e7f6a5b4c3d2e";

const image = (over: Partial<Image> = {}): Image => ({
  id: "01a23510-3380-768c-822d-f383d77c56fd",
  repository: "team/app",
  commitSha: SHA,
  ref: "main",
  tag: buildTag("team/app", SHA),
  status: "READY",
  digest: `sha256:${"ab".repeat(32)}`,
  sizeBytes: 5 * 1024 * 1024 + 200 * 1024,
  hosts: [
    { id: "h2", name: "host-2", how: "built" },
    { id: "h1", name: "host-1", how: "transferred" },
  ],
  jobId: "01a23510-3380-768d-98b4-e2e14a411c10",
  scheduleId: null,
  createdAt: new Date(Date.now() - 120_000).toISOString(),
  builtAt: new Date(Date.now() - 60_000).toISOString(),
  ...over,
});

describe("images as the CLI shows them", () => {
  test("a requested build's tag; what is sent, in words", () => {
    expect(buildTag("team/app", SHA)).toBe(`a4c/team/app:${SHA}`);
    expect(contextSummary({ dockerfile: "FROM x", files: {}, bytes: 6, skipped: [] })).toBe("the Dockerfile, 6 B");
    expect(contextSummary({ dockerfile: "FROM x", files: { a: "1", b: "2" }, bytes: 2048, skipped: [] })).toBe(
      "the Dockerfile and 2 files, 2.0 KiB",
    );
  });

  test("the list: id, tag, status, size, hosts, age; nothing unknown left blank", () => {
    const lines = imagesTable(plain, [
      image(),
      image({ id: "x", status: "BUILDING", sizeBytes: null, hosts: [] }),
    ]).split("\n");
    expect(lines[0]).toMatch(/^ID +TAG +STATUS +SIZE +HOSTS +CREATED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^01a23510\\S+ +a4c/team/app:${SHA} +READY +5\\.2 MiB +host-2,host-1 +2m ago$`),
    );
    expect(lines[2]).toMatch(/^x +\S+ +BUILDING +- +- +2m ago$/);
  });

  test("one image in full, and in one line after a build", () => {
    const text = imageLines(plain, image());
    expect(text).toMatch(/^status +READY$/m);
    expect(text).toMatch(/^hosts +host-2 \(built\), host-1 \(transferred\)$/m);
    expect(text).not.toMatch(/^schedule/m);
    expect(hostsText([])).toBe("");
    expect(imageSummary(plain, image())).toBe(
      `Image a4c/team/app:${SHA} is READY — 5.2 MiB on host-2, host-1 (sha256:abababababab)`,
    );
    expect(imageSummary(plain, image({ status: "FAILED", sizeBytes: null, hosts: [], digest: null }))).toBe(
      `Image a4c/team/app:${SHA} is FAILED`,
    );
  });

  test("schedules: a never-ticked one says so; the last outcome, a sentence, comes last", () => {
    const s: Schedule = {
      id: "s1",
      repository: "team/app",
      ref: "main",
      cron: "0 3 * * *",
      timezone: "Europe/Paris",
      lastTickAt: new Date().toISOString(),
      lastOutcome: null,
      createdAt: new Date().toISOString(),
      recentTicks: [],
    };
    const ticked: Schedule = {
      ...s,
      id: "s2",
      lastTickAt: new Date(Date.now() - 3_600_000).toISOString(),
      lastOutcome: "build of main at 3f2c9a0e1b7d started: a4c/team/app:3f2c…",
      recentTicks: [{ tickAt: new Date().toISOString(), imageId: "i1", outcome: "build of main …" }],
    };
    const lines = schedulesTable(plain, [s, ticked]).split("\n");
    expect(lines[0]).toMatch(/^ID +REPOSITORY +REF +CRON +TIMEZONE +CREATED +LAST TICK +LAST OUTCOME$/);
    expect(lines[1]).toMatch(/^s1 +team\/app +main +0 3 \* \* \* +Europe\/Paris +0s ago +never +-$/);
    expect(lines[2]).toMatch(/^s2 .* +1h ago +build of main at 3f2c9a0e1b7d started: a4c\/team\/app:3f2c…$/);
  });
});
