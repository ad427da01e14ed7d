/**
 * The `a4c` CLI's image commands as a process against the whole system behind its front door, a
 * provisioner building on the launcher's hosts: a CI token made with `tokens create`, a build
 * from a Dockerfile and a context folder followed with --wait (its log lines as they come, its
 * steps, READY, exit 0), one that fails (exit 1, its error and log), `images ls/show/log`, a
 * workspace on the built image, requests refused as given (exit 2, some before anything is sent),
 * and schedules created, listed and deleted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "../helpers/client.ts";
import { type ClientStack, startClientStack } from "../helpers/clients.ts";
import { randomSha } from "../helpers/images.ts";
import { a4c, noStack, type RunOptions } from "./run.ts";

let s: ClientStack;
let admin: RunOptions;
let ci: RunOptions;
let user: RunOptions;
const repo = `cli/app-${randomSha().slice(0, 8)}`;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** A Dockerfile beside a context folder (with a .git folder that must not be sent). */
function project(dockerfile: string, files: Record<string, string>): { dockerfile: string; context: string } {
  const base = mkdtempSync(join(tmpdir(), "a4c-cli-build-"));
  const context = join(base, "ctx");
  for (const [path, text] of Object.entries({ ...files, ".git/HEAD": "ref: refs/heads/main\n" })) {
    mkdirSync(join(context, path, ".."), { recursive: true });
    writeFileSync(join(context, path), text);
  }
  writeFileSync(join(base, "Dockerfile"), dockerfile);
  return { dockerfile: join(base, "Dockerfile"), context };
}

const GOOD = project(
  [
    "FROM a4c/base:latest",
    "COPY hello.txt /opt/app/hello.txt",
    "COPY conf/app.conf /opt/app/app.conf",
    "RUN cat /opt/app/hello.txt /opt/app/app.conf",
  ].join("\n"),
  { "hello.txt": `hello from ${repo}\n`, "conf/app.conf": "mode=cli-test\n" },
);

beforeAll(async () => {
  s = await startClientStack("cli-images");
  admin = { url: s.url, token: s.adminToken };
  const ada = await createUser(s.p.stack, "Ada Lovelace");
  user = { url: s.url, token: ada.token };
}, 300_000);

afterAll(async () => {
  await s?.stop();
}, 120_000);

describe("tokens", () => {
  test("tokens create: a CI token, printed once, that can then request builds; a user may not (exit 3)", async () => {
    const r = await a4c(["tokens", "create", "--name", "cli-test-ci"], admin);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^token id +\S+$/m);
    expect(r.stdout).toMatch(/^token +\S+$/m);
    expect(r.stderr).toContain("shown only here");
    const j = await a4c(["tokens", "create", "--name", "cli-test-ci-2", "--json"], admin);
    expect(j.code).toBe(0);
    const made = JSON.parse(j.stdout) as { tokenId: string; token: string; status: string };
    expect(made.tokenId).toMatch(UUID);
    expect(made.status).toBe("completed");
    ci = { url: s.url, token: made.token };
    const refused = await a4c(["tokens", "create", "--name", "mine"], user);
    expect(refused.code).toBe(3);
    expect(noStack(refused.stderr)).toBe(true);
  });
});

describe("builds", () => {
  const sha = randomSha();
  let built: { imageId: string; jobId: string; tag: string };

  test("images build --wait (CI token): the context sent, the log as it comes, the steps, READY, exit 0", async () => {
    const r = await a4c(
      [
        "images",
        "build",
        repo,
        sha,
        "--dockerfile",
        GOOD.dockerfile,
        "--context",
        GOOD.context,
        "--ref",
        "main",
        "--wait",
      ],
      ci,
    );
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const tag = `a4c/${repo}:${sha}`;
    expect(r.stdout).toContain(`Building ${tag}`);
    expect(r.stdout).toContain("from the Dockerfile and 2 files");
    expect(r.stderr).toContain("Not sent: .git (git's own data)");
    // The build's own output, line by line, before the step that wrote it is reported done.
    const out = r.stdout.split("\n");
    const hello = out.indexOf(`  │ hello from ${repo}`);
    const conf = out.indexOf("  │ mode=cli-test");
    const buildDone = out.findIndex((l) => /^ {2}build +done +\d/.test(l));
    expect(hello).toBeGreaterThan(0);
    expect(conf).toBeGreaterThan(hello);
    expect(buildDone).toBeGreaterThan(conf);
    expect(r.stdout).toMatch(/^ {2}place +done /m);
    expect(r.stdout).toMatch(/^ {2}│ .*(Successfully built|Successfully tagged)/m);
    expect(r.stdout).toContain("Job COMPLETED in");
    expect(r.stdout).toMatch(
      new RegExp(`^Image ${tag} is READY — [\\d.]+ \\S+ on host-\\d \\(sha256:[0-9a-f]{12}\\)$`, "m"),
    );
    expect(r.stdout).toContain(`a4c ws create <project> --image ${tag}`);
    expect(r.stdout).not.toContain("\u001b[");
    // Every line once: the poller and the follower never print a line twice.
    expect(out.filter((l) => l === `  │ hello from ${repo}`)).toHaveLength(1);

    const again = await a4c(["images", "build", repo, sha, "--dockerfile", GOOD.dockerfile, "--json"], ci);
    expect(again.code).toBe(0);
    const accepted = JSON.parse(again.stdout) as { imageId: string; jobId: string; tag: string; status: string };
    expect(accepted).toMatchObject({ status: "pending", tag });
    built = { imageId: accepted.imageId, jobId: accepted.jobId, tag };
  }, 180_000);

  test("images ls and show: the image with its tag, status, size and host; filters", async () => {
    const ls = await a4c(["images", "ls", "--repository", repo], user);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^ID +TAG +STATUS +SIZE +HOSTS +CREATED$/m);
    expect(ls.stdout).toMatch(new RegExp(`^${built.imageId} +${built.tag} +READY +[\\d.]+ \\S+ +host-\\d`, "m"));
    const json = JSON.parse((await a4c(["images", "ls", "--repository", repo, "--json"], ci)).stdout);
    expect(json.items.map((i: { id: string }) => i.id)).toEqual([built.imageId]);
    const none = await a4c(["images", "ls", "--repository", repo, "--status", "failed"], admin);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("No images match.");

    const show = await a4c(["images", "show", built.imageId], user);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^status +READY$/m);
    expect(show.stdout).toMatch(new RegExp(`^commit +${sha}$`, "m"));
    expect(show.stdout).toMatch(/^ref +main$/m);
    expect(show.stdout).toMatch(/^digest +sha256:[0-9a-f]{64}$/m);
    expect(show.stdout).toMatch(/^hosts +host-\d \(built\)$/m);
    expect(show.stdout).toMatch(new RegExp(`^job +${built.jobId}$`, "m"));
    expect(JSON.parse((await a4c(["images", "show", built.imageId, "--json"], user)).stdout)).toMatchObject({
      id: built.imageId,
      status: "READY",
      tag: built.tag,
    });
  }, 60_000);

  test("images log: by image id or job id, the build's output in order; --json has every line", async () => {
    const byImage = await a4c(["images", "log", built.imageId], user);
    expect(byImage.code).toBe(0);
    const lines = byImage.stdout.split("\n");
    expect(lines).toContain(`hello from ${repo}`);
    expect(lines.indexOf("mode=cli-test")).toBeGreaterThan(lines.indexOf(`hello from ${repo}`));
    const byJob = await a4c(["images", "log", built.jobId], admin);
    expect(byJob.stdout).toBe(byImage.stdout);
    const json = JSON.parse((await a4c(["images", "log", built.jobId, "--json"], ci)).stdout);
    expect(json).toMatchObject({ jobId: built.jobId, status: "COMPLETED" });
    expect(json.lines.map((l: { line: string }) => l.line).join("\n")).toBe(byImage.stdout.trimEnd());
    const missing = await a4c(["images", "log", crypto.randomUUID()], user);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("No such image or job");
  }, 60_000);

  test("a workspace runs the built image by its tag", async () => {
    const r = await a4c(["ws", "create", "on-built-image", "--image", built.tag, "--wait", "--json"], user);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ workspace: { status: "RUNNING", image: built.tag } });
  }, 120_000);

  test("a failing build --wait: its log up to the failure, the error, FAILED, exit 1; log --follow exits 1", async () => {
    const marker = `boom-${randomSha().slice(0, 10)}`;
    const bad = project(["FROM a4c/base:latest", `RUN echo ${marker} && exit 3`].join("\n"), {});
    const failSha = randomSha();
    const r = await a4c(["images", "build", repo, failSha, "--dockerfile", bad.dockerfile, "--wait"], admin);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  │ ${marker}`);
    expect(r.stdout).toMatch(/^ {2}build +failed /m);
    expect(r.stdout).toMatch(/✖ Job FAILED in \S+ — build_failed: .*returned a non-zero code: 3/);
    expect(r.stdout).toContain(`Image a4c/${repo}:${failSha} is FAILED`);
    expect(noStack(r.stderr)).toBe(true);

    const json = await a4c(["images", "build", repo, failSha, "--dockerfile", bad.dockerfile, "--wait", "--json"], ci);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      job: { status: "FAILED", error: { code: "build_failed" } },
      image: { status: "FAILED" },
    });
    const follow = await a4c(["images", "log", JSON.parse(json.stdout).imageId, "--follow"], user);
    expect(follow.code).toBe(1);
    expect(follow.stdout).toContain(marker);
    expect(follow.stderr).toContain("Job FAILED — build_failed");
  }, 180_000);
});

describe("refused as given", () => {
  test("a bad repository or SHA: the gateway's 400 in its words, exit 2", async () => {
    for (const [r, s2, what] of [
      ["Team/App", randomSha(), "/repository"],
      [repo, "ABC123", "/commitSha"],
    ] as const) {
      const out = await a4c(["images", "build", r, s2, "--dockerfile", GOOD.dockerfile], admin);
      expect({ code: out.code, what }).toEqual({ code: 2, what });
      expect(out.stderr).toContain("Bad Request");
      expect(out.stderr).toContain(what);
      expect(noStack(out.stderr)).toBe(true);
    }
  });

  test("a context the gateway would refuse fails before anything is sent: too large, a bad path; no --dockerfile", async () => {
    const big = project("FROM a4c/base:latest\n", { "big.txt": "x".repeat(600 * 1024) });
    const tooLarge = await a4c(
      ["images", "build", repo, randomSha(), "--dockerfile", big.dockerfile, "--context", big.context],
      { ...admin, env: { A4C_DEBUG: "1" } },
    );
    expect(tooLarge.code).toBe(2);
    expect(tooLarge.stderr).toContain("The build context is too large");
    expect(tooLarge.stderr).toContain("big.txt");
    expect(tooLarge.stderr).not.toContain("→ POST");
    const spaced = project("FROM a4c/base:latest\n", { "my notes.txt": "x" });
    const badPath = await a4c(
      ["images", "build", repo, randomSha(), "--dockerfile", spaced.dockerfile, "--context", spaced.context],
      admin,
    );
    expect(badPath.code).toBe(2);
    expect(badPath.stderr).toContain("Cannot send my notes.txt");
    const missing = await a4c(["images", "build", repo, randomSha()], admin);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--dockerfile");
  });

  test("a user may read images but not build them (exit 3)", async () => {
    const r = await a4c(["images", "build", repo, randomSha(), "--dockerfile", GOOD.dockerfile], user);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("Forbidden");
  });
});

describe("schedules", () => {
  test("create, ls, rm; a bad cron exits 2; deleting one that is gone exits 1; a user may not (3)", async () => {
    const r = await a4c(
      ["schedules", "create", repo, "main", "0 3 * * *", "--timezone", "Europe/Paris", "--json"],
      admin,
    );
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout) as { scheduleId: string; status: string };
    expect(created.scheduleId).toMatch(UUID);
    expect(created.status).toBe("completed");

    const ls = await a4c(["schedules", "ls"], admin);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^ID +REPOSITORY +REF +CRON +TIMEZONE +CREATED +LAST TICK +LAST OUTCOME$/m);
    expect(ls.stdout).toMatch(
      new RegExp(`^${created.scheduleId} +${repo} +main +0 3 \\* \\* \\* +Europe/Paris +\\d+s ago +never +-$`, "m"),
    );

    const rm = await a4c(["schedules", "rm", created.scheduleId], admin);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain("Operation completed");
    expect((await a4c(["schedules", "ls"], admin)).stdout).not.toContain(created.scheduleId);
    const gone = await a4c(["schedules", "rm", created.scheduleId], admin);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toContain("Operation failed: not_found");

    const badCron = await a4c(["schedules", "create", repo, "main", "every day"], admin);
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toContain("/cron");
    expect((await a4c(["schedules", "ls"], user)).code).toBe(3);
    expect((await a4c(["schedules", "create", repo, "main", "0 3 * * *"], ci)).code).toBe(3);
  }, 60_000);

  test("--idempotency-key: the same key again answers the same schedule, made once", async () => {
    const key = `cli-sched-${crypto.randomUUID()}`;
    const args = ["schedules", "create", repo, "release", "0 4 * * *", "--json", "--idempotency-key", key];
    const first = JSON.parse((await a4c(args, admin)).stdout);
    const second = JSON.parse((await a4c(args, admin)).stdout);
    expect(second.scheduleId).toBe(first.scheduleId);
    const rows = await s.p.stack.sql`SELECT id FROM schedule WHERE repository = ${repo} AND ref = 'release'`;
    expect(rows).toHaveLength(1);
  }, 60_000);
});
