/**
 * The provisioning rows of the failure matrix, on the launcher's real hosts:
 * - a provisioner killed (-9) in each step: its lease expires, another resumes from the last
 *   finished step, and the workspace has exactly one container;
 * - a host whose sshd dies before anything is made there: retried and placed on another host;
 *   the host is marked unreachable, then active again once it answers;
 * - a host whose dockerd freezes after the container was made: retried, then failed and
 *   compensated; the container it could not remove is taken away by the cleanup daemon once the
 *   host is back;
 * - an orphan made by hand: only reported in dry-run mode, removed otherwise;
 * - a job canceled before it runs and while it runs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type Docker from "dockerode";
import { readPid } from "../../infra/lib/shell.ts";
import { operator } from "../helpers/ops.ts";
import {
  containersOf,
  createUser,
  createWorkspace,
  expectEnd,
  holdDisk,
  MiB,
  type ProvisionStack,
  startProvisionStack,
  untilJob,
} from "../helpers/provision.ts";
import { serviceLog } from "../helpers/stack.ts";
import { until as waitUntil } from "../helpers/wait.ts";

let p: ProvisionStack;
let user: { userId: string; token: string };
const sql = () => p.stack.sql;

beforeAll(async () => {
  p = await startProvisionStack("provision-faults");
  user = await createUser(p.stack, "Faults");
}, 240_000);

afterAll(async () => {
  await sql()`UPDATE hosts SET state = 'active'`.catch(() => {});
  for (const h of p?.hosts ?? []) {
    const pid = h.processes().dockerd.pid;
    if (pid) process.kill(pid, "SIGCONT");
    await h.start();
  }
  await p?.stop();
}, 180_000);

async function stepStatus(jobId: string, step: string): Promise<string | undefined> {
  const [row] = await sql()<
    { status: string }[]
  >`SELECT status FROM job_step WHERE job_id = ${jobId} AND name = ${step}`;
  return row?.status;
}

/** Fast polls: some steps last only milliseconds. */
const until = (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) =>
  waitUntil(what, check, timeoutMs, 50);

const STEPS = ["place", "container_create", "setup", "ip_assign", "hostname_entry"] as const;

describe("a provisioner killed mid-step", () => {
  for (const step of STEPS) {
    test(`kill -9 after ${step}'s work → resumed by another, exactly one container`, async () => {
      const doomed = await p.provisioner({ A4C_FAULT_HANG_AFTER_STEP: step });
      await doomed.start();
      const w = await createWorkspace(p.stack, user, `killed-${step.replace("_", "-")}`);
      await until(`the provisioner to hang after ${step}`, async () =>
        serviceLog(doomed).some((l) => l.event === "fault.hang" && l.jobId === w.jobId),
      );
      await doomed.kill();
      const rescuer = await p.provisioner();
      await rescuer.start();
      try {
        const job = await expectEnd(p.stack, w.jobId, user.token);
        // After place alone the job had not begun: the rescuer's run is its first. (More runs than
        // these are transient host errors met by the rescuer, retried as they should be.)
        expect(job.attempts).toBeGreaterThanOrEqual(step === "place" ? 1 : 2);
        const byName = Object.fromEntries(job.steps.map((s) => [s.name, s]));
        // The step in flight ran again (idempotently); the ones finished before it did not.
        expect(byName[step]?.attempts).toBeGreaterThanOrEqual(step === "place" ? 1 : 2);
        for (const s of STEPS.slice(0, STEPS.indexOf(step))) expect(byName[s]?.attempts).toBe(1);
        const host = job.hostName ?? "";
        expect((await containersOf(p, host, w.workspaceId)).length).toBe(1);
        for (const other of Object.keys(p.docker).filter((h) => h !== host)) {
          expect(await containersOf(p, other, w.workspaceId)).toEqual([]);
        }
      } finally {
        await rescuer.stop();
      }
    }, 120_000);
  }
});

describe("hosts that fail", () => {
  test("sshd dies before anything is made there → placed on another host; unreachable, then active again", async () => {
    const provisioner = await p.provisioner();
    await provisioner.start();
    const [one, two, three] = p.hosts;
    let restarted = false;
    if (!one || !two || !three) throw new Error("three hosts expected");
    try {
      await sql()`UPDATE hosts SET state = 'draining' WHERE name = 'host-3'`;
      await holdDisk(sql(), user.userId, p.hostIds["host-2"] ?? "", 400 * MiB);
      // host-1 is the least used: stop its sshd, and the sessions it serves.
      const master = readPid(`${one.dir}/sshd.pid`);
      const children = Bun.spawnSync(["pgrep", "-P", String(master)])
        .stdout.toString()
        .split("\n")
        .filter(Boolean);
      for (const pid of [master, ...children.map(Number)]) if (pid) process.kill(pid, "SIGKILL");
      const w = await createWorkspace(p.stack, user, "replaced");
      const job = await expectEnd(p.stack, w.jobId, user.token);
      expect(job.hostName).toBe("host-2");
      expect(await containersOf(p, "host-2", w.workspaceId)).toHaveLength(1);
      const [state] = await sql()<{ state: string; last_error: string }[]>`
        SELECT state, last_error FROM hosts WHERE name = 'host-1'`;
      expect(state?.state).toBe("unreachable");
      expect(state?.last_error).toContain("host-1");
      await one.start();
      restarted = true;
      await until("host-1 to be active again", async () => {
        const [row] = await sql()<{ state: string }[]>`SELECT state FROM hosts WHERE name = 'host-1'`;
        return row?.state === "active";
      });
    } finally {
      if (!restarted) await one.start();
      await sql()`UPDATE hosts SET state = 'active' WHERE name = 'host-3'`;
      await provisioner.stop();
    }
  }, 120_000);

  test("a draining host that stops answering stays draining, its error shown; answering again clears the error only", async () => {
    const provisioner = await p.provisioner();
    await provisioner.start();
    const three = p.hosts[2];
    if (!three) throw new Error("three hosts expected");
    let restarted = false;
    const row = async () =>
      (
        await sql()<{ state: string; last_error: string | null }[]>`
        SELECT state, last_error FROM hosts WHERE name = 'host-3'`
      )[0];
    try {
      await sql()`UPDATE hosts SET state = 'draining' WHERE name = 'host-3'`;
      const master = readPid(`${three.dir}/sshd.pid`);
      const children = Bun.spawnSync(["pgrep", "-P", String(master)])
        .stdout.toString()
        .split("\n")
        .filter(Boolean);
      for (const pid of [master, ...children.map(Number)]) if (pid) process.kill(pid, "SIGKILL");
      await until("host-3's error to be recorded", async () => (await row())?.last_error != null);
      expect((await row())?.state).toBe("draining");
      await three.start();
      restarted = true;
      await until("host-3 to answer again", async () => (await row())?.last_error === null);
      expect((await row())?.state).toBe("draining");
    } finally {
      if (!restarted) await three.start();
      await sql()`UPDATE hosts SET state = 'active' WHERE name = 'host-3'`;
      await provisioner.stop();
    }
  }, 120_000);

  test("dockerd freezes after the container exists → retried, failed and compensated; the orphan goes once it is back", async () => {
    const provisioner = await p.provisioner({ A4C_PROVISION_MAX_ATTEMPTS: "2", A4C_REMOTE_TIMEOUT_MS: "2000" });
    await provisioner.start();
    const host = p.hosts[1];
    if (!host) throw new Error("host-2 expected");
    const dockerd = host.processes().dockerd.pid ?? 0;
    try {
      await sql()`UPDATE hosts SET state = 'draining' WHERE name <> 'host-2'`;
      const w = await createWorkspace(p.stack, user, "frozen");
      await until(
        "the container to exist",
        async () => (await stepStatus(w.jobId, "container_create")) === "done",
        60_000,
      );
      process.kill(dockerd, "SIGSTOP");
      const job = await untilJob(p.stack, w.jobId, user.token, (j) => j.status === "FAILED", 90_000);
      expect(job.error?.code).toBe("host_unreachable");
      expect(job.error?.message).toContain("cleanup daemon will remove it");
      process.kill(dockerd, "SIGCONT");
      await until("host-2 to answer again", async () => {
        const [row] = await sql()<{ state: string }[]>`SELECT state FROM hosts WHERE name = 'host-2'`;
        return row?.state === "active";
      });
      expect((await containersOf(p, "host-2", w.workspaceId)).length).toBe(1);
      const swept = await operator(provisioner, "/cleanup", "POST");
      expect(swept.status).toBe(200);
      expect(JSON.stringify(swept.body)).toContain("its workspace failed");
      expect(await containersOf(p, "host-2", w.workspaceId)).toEqual([]);
    } finally {
      process.kill(dockerd, "SIGCONT");
      await sql()`UPDATE hosts SET state = 'active'`;
      await provisioner.stop();
    }
  }, 180_000);
});

describe("the cleanup daemon", () => {
  test("an orphan made by hand: only reported in dry-run, removed otherwise; live workspaces untouched", async () => {
    const provisioner = await p.provisioner();
    await provisioner.start();
    const live = await createWorkspace(p.stack, user, "kept");
    const kept = await expectEnd(p.stack, live.jobId, user.token);
    const docker = p.docker["host-1"] as Docker;
    const ghost = crypto.randomUUID();
    const orphan = await docker.createContainer({
      Image: "a4c/base:latest",
      Cmd: ["sleep", "600"],
      Labels: { "a4c.workspace-id": ghost, "a4c.deployment": p.deployment },
      HostConfig: { NetworkMode: "none" },
    });
    await orphan.start();
    const dry = await p.provisioner({ A4C_CLEANUP_DRY_RUN: "1" });
    await dry.start();
    try {
      const report = await operator(dry, "/cleanup", "POST");
      expect(report.body.dryRun).toBe(true);
      expect(report.body.actions).toContainEqual({
        host: "host-1",
        containerId: orphan.id,
        reason: "its workspace does not exist",
        action: "would_remove",
      });
      expect((await orphan.inspect()).State.Running).toBe(true);
      const removed = await operator(provisioner, "/cleanup", "POST");
      expect(removed.body.actions).toContainEqual({
        host: "host-1",
        containerId: orphan.id,
        reason: "its workspace does not exist",
        action: "removed",
      });
      expect(await orphan.inspect().catch(() => null)).toBeNull();
      expect((await containersOf(p, kept.hostName ?? "", live.workspaceId)).length).toBe(1);
      const listed = await fetch(`${p.stack.readApi.url}/v1/cleanup/actions`, {
        headers: { authorization: `Bearer ${p.stack.adminToken}` },
      });
      const items = ((await listed.json()) as { items: Array<{ containerId: string; action: string }> }).items;
      expect(
        items
          .filter((i) => i.containerId === orphan.id)
          .map((i) => i.action)
          .sort(),
      ).toEqual(["removed", "would_remove"]);
      const asUser = await fetch(`${p.stack.readApi.url}/v1/cleanup/actions`, {
        headers: { authorization: `Bearer ${user.token}` },
      });
      expect(asUser.status).toBe(403);
    } finally {
      await dry.stop();
      await provisioner.stop();
    }
  }, 120_000);
});

test("GET /v1/hosts shows each host's state, disk and workspaces (admin only)", async () => {
  const provisioner = await p.provisioner();
  await provisioner.start();
  type HostView = {
    name: string;
    state: string;
    disk: { usedBytes: number; totalBytes: number; reservedBytes: number; usedPercent: number | null };
    workspaces: number;
  };
  const hosts = async (token: string) =>
    fetch(`${p.stack.readApi.url}/v1/hosts`, { headers: { authorization: `Bearer ${token}` } });
  try {
    let items: HostView[] = [];
    // The provisioner reads every host's disk at start.
    await until("every host's disk read", async () => {
      items = (await (await hosts(p.stack.adminToken)).json()) as HostView[];
      return items.length === 3 && items.every((h) => h.disk.totalBytes > 0);
    });
    expect(items.map((h) => h.name)).toEqual(["host-1", "host-2", "host-3"]);
    for (const h of items) {
      expect(h.state).toBe("active");
      expect(h.disk.usedBytes).toBeGreaterThan(0);
      expect(h.disk.usedPercent).toBeGreaterThanOrEqual(0);
    }
    expect((await hosts(user.token)).status).toBe(403);
  } finally {
    await provisioner.stop();
  }
}, 60_000);
