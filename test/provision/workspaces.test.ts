/**
 * Workspaces provisioned for real on the launcher's three hosts (dockerd behind sshd): placement
 * on the least-used host, the container as the host's Docker API shows it, setup inside it, the
 * address and hostname; deletion; capacity under 20 concurrent creates; two provisioners sharing
 * the work; a setup that fails for good, searchable by its message.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type Docker from "dockerode";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { del, post, settle } from "../helpers/client.ts";
import { freePort } from "../helpers/ports.ts";
import {
  allContainers,
  containersOf,
  createUser,
  createWorkspace,
  expectEnd,
  finished,
  holdDisk,
  jobOf,
  MiB,
  type ProvisionStack,
  startProvisionStack,
  untilJob,
} from "../helpers/provision.ts";
import { serviceLog } from "../helpers/stack.ts";

let p: ProvisionStack;
let provisioner: ServiceProcess;
let ada: { userId: string; token: string };

beforeAll(async () => {
  // The read-api's Elasticsearch is a closed port: job search answers from PostgreSQL.
  p = await startProvisionStack("provision", { env: { ELASTICSEARCH_URL: `http://127.0.0.1:${await freePort()}` } });
  provisioner = await p.provisioner();
  await provisioner.start();
  ada = await createUser(p.stack, "Ada");
}, 240_000);

afterAll(async () => {
  await p?.stop();
}, 120_000);

const sql = () => p.stack.sql;

describe("a workspace's life", () => {
  test("create → RUNNING on the least-used host, as its Docker API shows; delete → gone, address free", async () => {
    // host-1 and host-2 hold disk for other workspaces: host-3 uses the least.
    await holdDisk(sql(), ada.userId, p.hostIds["host-1"] ?? "", 500 * MiB);
    await holdDisk(sql(), ada.userId, p.hostIds["host-2"] ?? "", 300 * MiB);
    const w = await createWorkspace(p.stack, ada, "backend-api");
    const job = await untilJob(p.stack, w.jobId, ada.token, finished);
    expect(job.status).toBe("COMPLETED");
    expect(job.hostName).toBe("host-3");
    expect(job.steps.map((s) => [s.name, s.status])).toEqual([
      ["place", "done"],
      ["image_transfer", "skipped"],
      ["container_create", "done"],
      ["setup", "done"],
      ["ip_assign", "done"],
      ["hostname_entry", "done"],
    ]);
    const ws = (await (
      await fetch(`${p.stack.readApi.url}/v1/workspaces/${w.workspaceId}`, {
        headers: { authorization: `Bearer ${ada.token}` },
      })
    ).json()) as Record<string, string>;
    expect(ws).toMatchObject({ status: "RUNNING", hostName: "host-3" });
    expect(ws.address).toMatch(/^127\.0\.0\.1:2\d{4}$/);
    expect(ws.hostname).toMatch(/^backend-api-[0-9a-f]{8}\.host-3\.a4c\.internal$/);

    const [c] = await containersOf(p, "host-3", w.workspaceId);
    expect(c?.State).toBe("running");
    expect(c?.Id).toBe(ws.containerId);
    expect(c?.Labels).toMatchObject({
      "a4c.workspace-id": w.workspaceId,
      "a4c.user-id": ada.userId,
      "a4c.job-id": w.jobId,
      "a4c.deployment": p.deployment,
    });
    const docker = p.docker["host-3"] as Docker;
    const info = await docker.getContainer(c?.Id ?? "").inspect();
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect(info.HostConfig.Memory).toBe(32 * MiB);
    expect(info.HostConfig.NanoCpus).toBe(0.5e9);
    expect(info.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
    // setup's work and the hostname entry, read inside the container.
    const marker = await execIn(
      docker,
      c?.Id ?? "",
      "cat /workspace/.a4c-ready; ls -d /workspace/backend-api; grep a4c.internal /etc/hosts",
    );
    expect(marker).toContain(`"workspaceId":"${w.workspaceId}"`);
    expect(marker).toContain("/workspace/backend-api");
    expect(marker).toContain(`127.0.0.1 ${ws.hostname}`);
    for (const h of ["host-1", "host-2"]) expect(await containersOf(p, h, w.workspaceId)).toEqual([]);
    // The job search filters by host (here the PostgreSQL fallback; Elasticsearch gets the same term).
    const byHost = async (q: string) =>
      (
        (await (
          await fetch(`${p.stack.readApi.url}/v1/jobs?${new URLSearchParams({ q })}`, {
            headers: { authorization: `Bearer ${ada.token}` },
          })
        ).json()) as { items: Array<{ id: string; hostName: string | null }> }
      ).items;
    expect((await byHost("host:host-3")).map((i) => [i.id, i.hostName])).toContainEqual([w.jobId, "host-3"]);
    expect((await byHost("host:host-1")).map((i) => i.id)).not.toContain(w.jobId);

    const d = await del(p.stack, `/v1/users/${ada.userId}/workspaces/${w.workspaceId}`, { token: ada.token });
    expect(d.status).toBe(202);
    await settle(p.stack, d.body.operationId as string, ada.token);
    const gone = await untilJob(p.stack, d.body.jobId as string, ada.token, finished);
    expect(gone.status).toBe("COMPLETED");
    expect(await containersOf(p, "host-3", w.workspaceId)).toEqual([]);
    const [row] = await sql()<{ status: string; port: number | null; hostname: string | null }[]>`
      SELECT status, port, hostname FROM workspace WHERE id = ${w.workspaceId}`;
    expect(row).toEqual({ status: "DELETED", port: null, hostname: null });
    // The address is free again: the next workspace on host-3 gets the same port.
    const again = await createWorkspace(p.stack, ada, "backend-api");
    await untilJob(p.stack, again.jobId, ada.token, finished);
    const [next] = await sql()<{ port: number }[]>`SELECT port FROM workspace WHERE id = ${again.workspaceId}`;
    expect(`127.0.0.1:${next?.port}`).toBe(ws.address ?? "");
  }, 120_000);

  test("the operation's event stream follows the job, step by step, to its end", async () => {
    const r = await post(
      p.stack,
      `/v1/users/${ada.userId}/workspaces`,
      { projectName: "streamed" },
      { token: ada.token },
    );
    expect(r.status).toBe(202);
    const stream = await fetch(`${p.stack.readApi.url}/status/${r.body.operationId}/events?follow=job`, {
      headers: { authorization: `Bearer ${ada.token}` },
      signal: AbortSignal.timeout(60_000),
    });
    const text = await stream.text();
    const events = text
      .split("\n\n")
      .filter((e) => e.includes("data: "))
      .map(
        (e) =>
          JSON.parse(e.slice(e.indexOf("data: ") + 6)) as { status: string; job?: { status: string; step: string } },
      );
    const last = events.at(-1);
    expect(last?.status).toBe("completed");
    expect(last?.job).toMatchObject({ status: "COMPLETED", step: "hostname_entry" });
    // The job was seen on its way, not only at its end, and its steps in the seeds' order.
    expect(events.some((e) => e.job && e.job.status !== "COMPLETED")).toBe(true);
    const order = ["queued", "place", "container_create", "setup", "ip_assign", "hostname_entry"];
    const seen = events.map((e) => order.indexOf(e.job?.step ?? "queued"));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  }, 90_000);

  test("a setup that fails for good → FAILED with what happened, compensated, and searchable", async () => {
    // /workspace with a single inode: setup's mkdir meets a full disk, as on a host out of space.
    const tiny = await p.provisioner({ A4C_WORKSPACE_INODES: "1" });
    await provisioner.stop();
    await tiny.start();
    try {
      const w = await createWorkspace(p.stack, ada, "doomed");
      const job = await untilJob(p.stack, w.jobId, ada.token, finished);
      expect(job.status).toBe("FAILED");
      expect(job.error?.code).toBe("setup_failed");
      expect(job.error?.message).toContain("No space left on device");
      expect(job.error?.message).toContain("compensated: container removed");
      expect(job.steps.find((s) => s.name === "setup")?.status).toBe("failed");
      const [row] = await sql()<{ status: string; port: number | null }[]>`
        SELECT status, port FROM workspace WHERE id = ${w.workspaceId}`;
      expect(row?.status).toBe("FAILED");
      for (const h of Object.keys(p.docker)) expect(await containersOf(p, h, w.workspaceId)).toEqual([]);
      const found = await fetch(`${p.stack.readApi.url}/v1/jobs?${new URLSearchParams({ q: '"no space left"' })}`, {
        headers: { authorization: `Bearer ${ada.token}` },
      });
      const answer = (await found.json()) as { items: Array<{ id: string }>; source: string };
      expect(answer.items.map((i) => i.id)).toContain(w.jobId);
    } finally {
      await tiny.stop();
      await provisioner.start();
    }
  }, 120_000);
});

describe("capacity and concurrency", () => {
  test("20 concurrent creates never put more on a host than it has room for; the rest wait with the reason", async () => {
    // Room for exactly 3 workspaces of 16 MiB on each host, over what it holds now.
    await sql()`UPDATE hosts SET disk_limit_bytes = used_bytes
                  + (SELECT coalesce(sum(w.disk_bytes), 0) FROM workspace w
                      WHERE w.host_id = hosts.id AND w.status IN ('CREATING', 'RUNNING', 'DELETING'))
                  + ${3 * 16 * MiB + MiB}`;
    const owner = await createUser(p.stack, "Many");
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createWorkspace(p.stack, owner, `many-${i}`)),
    );
    let worst = 0;
    const sample = async () => {
      const rows = await sql()<{ over: string }[]>`
        SELECT max((SELECT coalesce(sum(r.bytes), 0) FROM host_reservation r WHERE r.host_id = h.id)
                 + (SELECT coalesce(sum(w.disk_bytes), 0) FROM workspace w
                     WHERE w.host_id = h.id AND w.status IN ('CREATING', 'RUNNING', 'DELETING'))
                 + h.used_bytes - h.disk_limit_bytes)::text AS over FROM hosts h`;
      worst = Math.max(worst, Number(rows[0]?.over ?? 0));
    };
    const deadline = Date.now() + 90_000;
    for (;;) {
      await sample();
      const views = await Promise.all(created.map((c) => jobOf(p.stack, c.jobId, owner.token)));
      const done = views.filter((v) => v.status === "COMPLETED").length;
      const waiting = views.filter((v) => v.status === "SCHEDULED" && v.note?.startsWith("waiting for a host"));
      if (done === 9 && waiting.length === 11) {
        expect(waiting[0]?.note).toContain("full");
        break;
      }
      if (Date.now() > deadline) throw new Error(`after 90 s: ${done} completed, ${waiting.length} waiting`);
      await Bun.sleep(200);
    }
    expect(worst).toBeLessThanOrEqual(0);
    const containers = await allContainers(p);
    for (const list of Object.values(containers)) {
      expect(list.filter((c) => c.Labels["a4c.user-id"] === owner.userId).length).toBeLessThanOrEqual(3);
    }
    await sql()`UPDATE hosts SET disk_limit_bytes = NULL`;
    // Room again: every waiting job is placed.
    for (const c of created) await expectEnd(p.stack, c.jobId, owner.token);
  }, 240_000);

  test("two provisioners under load never run a step twice for one job; one container per workspace", async () => {
    const second = await p.provisioner();
    await second.start();
    try {
      const owner = await createUser(p.stack, "Two");
      const created = await Promise.all(
        Array.from({ length: 12 }, (_, i) => createWorkspace(p.stack, owner, `two-${i}`)),
      );
      for (const c of created)
        expect((await untilJob(p.stack, c.jobId, owner.token, finished, 90_000)).status).toBe("COMPLETED");
      // No two provisioners ever worked on one job at the same time: in both logs together, each
      // job's step runs (started → done or failed) never overlap. (A job may move from one to the
      // other between runs, after a transient host error gave its lease back.)
      const runs = [provisioner, second]
        .flatMap((svc) => serviceLog(svc))
        .filter((l) => ["step.started", "step.done", "step.failed"].includes(String(l.event)))
        .filter((l) => created.some((c) => c.jobId === l.jobId))
        .sort((a, b) => Date.parse(String(a.time)) - Date.parse(String(b.time)));
      const open = new Map<string, string>();
      for (const l of runs) {
        const job = String(l.jobId);
        if (l.event === "step.started") {
          expect(
            open.get(job),
            `${job}: ${l.owner} started ${l.step} while ${open.get(job)} worked on it`,
          ).toBeUndefined();
          open.set(job, String(l.owner));
        } else {
          expect(open.get(job)).toBe(String(l.owner));
          open.delete(job);
        }
      }
      expect(runs.filter((l) => l.event === "step.done").length).toBeGreaterThanOrEqual(12 * 4);
      const retried = await sql()<{ name: string; attempts: number; message: string | null }[]>`
        SELECT s.name, s.attempts, s.message FROM job_step s JOIN job j ON j.id = s.job_id
         WHERE j.user_id = ${owner.userId} AND s.attempts > 1`;
      if (retried.length > 0) {
        const why = [provisioner, second]
          .flatMap((svc) => serviceLog(svc))
          .filter((l) => l.event === "job.retry_scheduled");
        console.log(
          `steps retried after transient errors: ${JSON.stringify(retried)} ${JSON.stringify(why.map((l) => l.err))}`,
        );
      }
      const containers = Object.values(await allContainers(p)).flat();
      for (const c of created) {
        expect(containers.filter((x) => x.Labels["a4c.workspace-id"] === c.workspaceId).length).toBe(1);
      }
      // Both did some of the work.
      const started = (svc: ServiceProcess) => serviceLog(svc).filter((l) => l.event === "job.started").length;
      expect(started(provisioner)).toBeGreaterThan(0);
      expect(started(second)).toBeGreaterThan(0);
    } finally {
      await second.stop();
    }
  }, 180_000);
});

async function execIn(docker: Docker, id: string, script: string): Promise<string> {
  const exec = await docker
    .getContainer(id)
    .exec({ Cmd: ["/bin/sh", "-c", script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
  });
  // Docker multiplexes stdout/stderr with 8-byte frame headers; the text is enough here.
  const bytes = Buffer.concat(chunks).filter((b) => b > 8);
  return Buffer.from(bytes).toString("latin1");
}
