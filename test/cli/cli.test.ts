/**
 * The `a4c` CLI as a process against the whole system behind its front door: login and the
 * stored config, workspaces created and deleted with --wait (plain progress lines, since the
 * output is a pipe), job search with facets, one job's steps, operations, --json, the exit codes
 * (1 failed operation, 2 usage, 3 unreachable or refused), and writes retried across a gateway
 * restart with one Idempotency-Key, creating exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { createUser } from "../helpers/client.ts";
import { type ClientStack, startClientStack } from "../helpers/clients.ts";
import { freePort } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";
import { a4c, freshHome, noStack, type RunOptions, spawn } from "./run.ts";

let s: ClientStack;
let ada: { userId: string; token: string };
let as: RunOptions;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

beforeAll(async () => {
  s = await startClientStack("cli");
  ada = await createUser(s.p.stack, "Ada Lovelace");
  as = { url: s.url, token: ada.token };
}, 300_000);

afterAll(async () => {
  await s?.stop();
}, 120_000);

describe("login", () => {
  test("checks the token, stores URL and token with mode 0600, and later commands use them", async () => {
    const home = freshHome();
    const login = await a4c(["login", "--url", s.url, "--token", ada.token], { home, token: null });
    expect(login.code).toBe(0);
    expect(login.stdout).toContain("Logged in");
    expect(login.stdout).toContain("Ada Lovelace");
    const file = join(home, "a4c", "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "a4c")).mode & 0o777).toBe(0o700);

    const who = await a4c(["whoami", "--json"], { home, token: null });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ url: s.url, tokenSource: "config", me: { kind: "user" } });
  });

  test("a token piped on stdin works too; a wrong one is refused (exit 3) and nothing is stored", async () => {
    const home = freshHome();
    const piped = await a4c(["login", "--url", s.url], { home, token: null, stdin: `${ada.token}\n` });
    expect(piped.code).toBe(0);
    const other = freshHome();
    const wrong = await a4c(["login", "--url", s.url, "--token", "not-a-token"], { home: other, token: null });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain("Unauthorized");
    expect(noStack(wrong.stderr)).toBe(true);
    expect(existsSync(join(other, "a4c", "config.json"))).toBe(false);
  });

  test("without a login or A4C_TOKEN: exit 3 and how to log in", async () => {
    const r = await a4c(["ws", "ls"], { url: s.url, token: null });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("a4c login");
  });
});

describe("workspaces", () => {
  let created: { workspaceId: string; jobId: string; operationId: string };

  test("ws create --wait: each step on its own line, RUNNING, exit 0", async () => {
    // Nothing that turns colour off but the pipe itself.
    const r = await a4c(["ws", "create", "backend-api", "--wait"], {
      ...as,
      env: { NO_COLOR: "", CI: "", FORCE_COLOR: "" },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const step of ["place", "container_create", "setup", "ip_assign", "hostname_entry"]) {
      expect(r.stdout).toMatch(new RegExp(`^ {2}${step} +done +\\d+\\.\\ds`, "m"));
    }
    expect(r.stdout).toContain("Job COMPLETED in");
    expect(r.stdout).toMatch(/Workspace \S+ is RUNNING — backend-api-[0-9a-f]{8}\.host-\d\.a4c\.internal/);
    expect(r.stdout).not.toContain("\u001b["); // no colours, no spinner in a pipe
  }, 120_000);

  test("--json: the accepted ids, the final status, the job with its steps and the workspace", async () => {
    const r = await a4c(["ws", "create", "frontend", "--wait", "--json"], as);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      status: "completed",
      job: { status: "COMPLETED", type: "WORKSPACE_CREATE" },
      workspace: { status: "RUNNING", projectName: "frontend" },
    });
    expect(out.operationId).toMatch(/^\S+$/);
    expect(out.workspaceId).toMatch(UUID);
    expect(out.workspaceId).toBe(out.workspace.id);
    expect(out.job.steps).toHaveLength(6); // image_transfer among them (skipped: the base image)
    created = { workspaceId: out.workspaceId, jobId: out.jobId, operationId: out.operationId };
  }, 120_000);

  test("ws ls and ws show", async () => {
    const ls = await a4c(["ws", "ls"], as);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^ID +PROJECT +STATUS +HOST +ADDRESS +CREATED$/m);
    expect(ls.stdout).toMatch(new RegExp(`^${created.workspaceId} +frontend +RUNNING +host-\\d`, "m"));
    expect(ls.stdout).toContain("backend-api");
    const json = JSON.parse((await a4c(["ws", "ls", "--json"], as)).stdout);
    expect(json.items.map((w: { projectName: string }) => w.projectName).sort()).toEqual(["backend-api", "frontend"]);

    const show = await a4c(["ws", "show", created.workspaceId], as);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^status +RUNNING$/m);
    expect(show.stdout).toMatch(/^hostname +frontend-/m);
  });

  test("the admin must say which user (exit 2), and may with --user", async () => {
    const admin = { url: s.url, token: s.adminToken };
    const bare = await a4c(["ws", "ls"], admin);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("--user");
    const r = await a4c(["ws", "ls", "--user", ada.userId], admin);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("frontend");
  });

  test("jobs <query>: a table with the job, facet counts; search catches up through Elasticsearch", async () => {
    let r = await a4c(["jobs", "status:completed"], as);
    await until(
      "the job in search",
      async () => {
        r = await a4c(["jobs", "status:completed"], as);
        return r.code === 0 && r.stdout.includes(created.jobId);
      },
      60_000,
      1_000,
    );
    expect(r.stdout).toMatch(/^ID +TYPE +STATUS +STEP +PROJECT +OWNER +HOST +CREATED$/m);
    expect(r.stdout).toMatch(new RegExp(`^${created.jobId} +create +COMPLETED +- +frontend +Ada Lovelace`, "m"));
    expect(r.stdout).toMatch(/^shown +2 of 2$/m);
    expect(r.stdout).toMatch(/^status +completed 2$/m);
    expect(r.stdout).toMatch(/^type +workspace_create 2$/m);

    const page = await a4c(["jobs", "status:completed", "--limit", "1"], as);
    expect(page.stdout).toMatch(/^shown +1 of 2$/m);
    expect(page.stderr).toMatch(/Next page: a4c jobs status:completed --limit 1 --cursor \S+/);
    const json = JSON.parse((await a4c(["jobs", "project:frontend", "--json"], as)).stdout);
    expect(json.items.map((j: { id: string }) => j.id)).toEqual([created.jobId]);
    expect(json.source).toBe("elasticsearch");
  }, 90_000);

  test("jobs show: the job and its steps", async () => {
    const r = await a4c(["jobs", "show", created.jobId], as);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^status +COMPLETED$/m);
    expect(r.stdout).toMatch(/^STEP +STATUS +ATTEMPTS +STARTED +TOOK +MESSAGE$/m);
    for (const step of ["place", "container_create", "setup", "ip_assign", "hostname_entry"]) {
      expect(r.stdout).toMatch(new RegExp(`^${step} +done +1 `, "m"));
    }
  });

  test("op <id> and op <id> --wait on a finished operation", async () => {
    const r = await a4c(["op", created.operationId], as);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^status +completed$/m);
    const w = await a4c(["op", created.operationId, "--wait", "--json"], as);
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({ status: "completed", job: { status: "COMPLETED" } });
  }, 60_000);

  test("a failing operation exits 1 with its code: the project already has a live workspace", async () => {
    const r = await a4c(["ws", "create", "frontend", "--wait"], as);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Operation failed: project_exists");
  }, 60_000);

  test("ws rm --wait: the delete job's steps, DELETED, exit 0; ls hides it unless --all", async () => {
    const r = await a4c(["ws", "rm", created.workspaceId, "--wait"], as);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}container_remove +done /m);
    expect(r.stdout).toMatch(/^ {2}release +done /m);
    expect(r.stdout).toContain("is DELETED");
    const ls = await a4c(["ws", "ls"], as);
    expect(ls.stdout).not.toContain(created.workspaceId);
    expect(ls.stderr).toContain("1 deleted workspace not shown");
    expect((await a4c(["ws", "ls", "--all"], as)).stdout).toContain(created.workspaceId);
  }, 120_000);

  test("Ctrl-C stops the waiting, not the job, and says how to resume", async () => {
    // With no provisioner the job stays SCHEDULED: the interrupt surely comes while waiting.
    await s.provisioner.stop();
    try {
      await interruptAndResume();
    } finally {
      await s.provisioner.start(); // for the tests after this one, whatever happened
    }
  }, 120_000);
});

/** Ctrl-C while `ws create --wait` waits for a job no provisioner runs; then `op --wait` finishes it. */
async function interruptAndResume() {
  const child = spawn(["ws", "create", "interrupted", "--wait"], as);
  const stderr = new Response(child.stderr).text();
  let seen = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    seen += decoder.decode(chunk);
    if (seen.includes(": SCHEDULED")) break;
  }
  child.kill("SIGINT");
  expect(await child.exited).toBe(130);
  const said = await stderr;
  expect(said).toContain("Stopped waiting");
  const resume = /a4c op (\S+) --wait/.exec(said);
  expect(resume).not.toBeNull();
  await s.provisioner.start();
  const again = await a4c(["op", resume?.[1] ?? "", "--wait"], as);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("Job COMPLETED");
  expect(again.stdout).toContain("is RUNNING");
}

describe("exit codes and errors", () => {
  test("usage errors exit 2", async () => {
    for (const args of [["bogus"], ["ws", "create"], ["jobs", "--limit", "zero"], ["dlq", "ls", "--only", "x"]]) {
      const r = await a4c(args, as);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
    }
    const bad = await a4c(["jobs", "status:nonsense"], as);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Bad Request");
  });

  test("a wrong token exits 3 with the problem's title and detail, no stack; --json makes it JSON", async () => {
    const r = await a4c(["ws", "ls"], { url: s.url, token: "wrong" });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: Unauthorized — .+/);
    expect(noStack(r.stderr)).toBe(true);
    const j = await a4c(["jobs", "--json"], { url: s.url, token: "wrong" });
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stderr)).toMatchObject({ error: { title: "Unauthorized", status: 401 } });
  });

  test("a front door that does not answer: exit 3 after a few seconds of retries", async () => {
    const r = await a4c(["jobs"], { url: `http://127.0.0.1:${await freePort()}`, token: ada.token });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("Cannot reach");
    expect(noStack(r.stderr)).toBe(true);
    expect(r.ms).toBeLessThan(15_000);
  }, 30_000);
});

describe("admin", () => {
  test("users create: the user and its token, which then signs in; a taken email exits 1", async () => {
    const admin = { url: s.url, token: s.adminToken };
    const email = `grace-${Date.now()}@example.com`;
    const r = await a4c(["users", "create", "Grace Hopper", email, "--json"], admin);
    expect(r.code).toBe(0);
    const created = JSON.parse(r.stdout) as { userId: string; token: string; status: string };
    expect(created).toMatchObject({ userId: expect.stringMatching(UUID), status: "completed" });
    const who = await a4c(["whoami", "--json"], { url: s.url, token: created.token });
    expect(JSON.parse(who.stdout)).toMatchObject({ me: { kind: "user", user: { id: created.userId, email } } });

    const again = await a4c(["users", "create", "Someone Else", email], admin);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("email_taken");
    expect((await a4c(["users", "create", "Mallory", "m@example.com"], as)).code).toBe(3);
  });

  test("hosts: the three hosts; a user may not (exit 3)", async () => {
    const r = await a4c(["hosts"], { url: s.url, token: s.adminToken });
    expect(r.code).toBe(0);
    for (const h of ["host-1", "host-2", "host-3"]) expect(r.stdout).toMatch(new RegExp(`^${h} +active `, "m"));
    expect((await a4c(["hosts"], as)).code).toBe(3);
  });

  test("dlq ls as the admin (both DLQs, maybe empty); a user token gets exit 3", async () => {
    const r = await a4c(["dlq", "ls"], { url: s.url, token: s.adminToken });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Writes DLQ \(write-processor\): \d+/m);
    expect(r.stdout).toMatch(/^Search-sync DLQ \(es-sync\): \d+/m);
    const j = JSON.parse((await a4c(["dlq", "ls", "--json"], { url: s.url, token: s.adminToken })).stdout);
    expect(Array.isArray(j.writes.items)).toBe(true);
    expect(Array.isArray(j.search.items)).toBe(true);
    const user = await a4c(["dlq", "ls"], as);
    expect(user.code).toBe(3);
    expect(user.stderr).toContain("Unauthorized");
  });
});

describe("retries", () => {
  test("across a gateway restart: 503s retried with one Idempotency-Key, one workspace, exit 0", async () => {
    const gateway = s.p.stack.gateway;
    await gateway.stop();
    const child = spawn(["ws", "create", "restarted", "--wait"], { ...as, env: { A4C_DEBUG: "1" } });
    const stdout = new Response(child.stdout).text();
    const stderr = new Response(child.stderr).text();
    await Bun.sleep(2_500);
    await gateway.start();
    const code = await child.exited;
    const log = await stderr;
    expect({ code, out: await stdout }).toMatchObject({ code: 0 });
    const attempts = [...log.matchAll(/→ POST \S+\/workspaces attempt=(\d+) idempotency-key=(\S+)/g)];
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(log).toContain("← 503 POST");
    const keys = new Set(attempts.map((m) => m[2]));
    expect(keys.size).toBe(1);
    const [key] = [...keys];
    const sql = s.p.stack.sql;
    const ops = await sql`SELECT operation_id FROM write_operations WHERE idempotency_key = ${key ?? ""}`;
    expect(ops).toHaveLength(1);
    const rows = await sql`SELECT id FROM workspace WHERE user_id = ${ada.userId} AND project_name = 'restarted'`;
    expect(rows).toHaveLength(1);
  }, 180_000);

  test("--idempotency-key: the same key again answers the same operation, nothing new is created", async () => {
    const key = `cli-test-${crypto.randomUUID()}`;
    const first = JSON.parse((await a4c(["ws", "create", "twice", "--json", "--idempotency-key", key], as)).stdout);
    const second = JSON.parse((await a4c(["ws", "create", "twice", "--json", "--idempotency-key", key], as)).stdout);
    expect(second.operationId).toBe(first.operationId);
    expect(second.workspaceId).toBe(first.workspaceId);
    const done = await a4c(["op", first.operationId, "--wait"], as);
    expect(done.code).toBe(0);
    const rows = await s.p.stack.sql`SELECT id FROM workspace WHERE project_name = 'twice'`;
    expect(rows).toHaveLength(1);
  }, 120_000);
});
