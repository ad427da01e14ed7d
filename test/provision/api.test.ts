/**
 * The provisioning writes, through the gateway like every write: canceling a job (before it runs,
 * and while it runs: it stops at the next step boundary and compensates), and the hosts API
 * (register with a pinned key, drain, activate).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostKeyFingerprint } from "@a4c/shared";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { post, settle } from "../helpers/client.ts";
import {
  containersOf,
  createUser,
  createWorkspace,
  expectEnd,
  jobOf,
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
  p = await startProvisionStack("provision-api");
  user = await createUser(p.stack, "Canceler");
}, 240_000);

afterAll(async () => {
  await p?.stop();
}, 120_000);

/** Fast polls: some steps last only milliseconds. */
const until = (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) =>
  waitUntil(what, check, timeoutMs, 50);

/** POST /v1/jobs/:id/cancel and the operation's outcome. */
async function cancel(jobId: string, token: string) {
  const r = await post(p.stack, `/v1/jobs/${jobId}/cancel`, undefined, { token, raw: "" });
  expect(r.status).toBe(202);
  return (await settle(p.stack, r.body.operationId as string, token)).body;
}

describe("POST /v1/jobs/:id/cancel", () => {
  test("a scheduled job is CANCELED at once; its workspace is DELETED", async () => {
    const provisioner = await p.provisioner();
    await provisioner.start();
    try {
      await sql()`UPDATE hosts SET state = 'draining'`;
      const w = await createWorkspace(p.stack, user, "never");
      await untilJob(p.stack, w.jobId, user.token, (j) => j.note?.startsWith("waiting for a host") ?? false);
      // Someone else may not cancel it: as unknown to them as a job that does not exist.
      const stranger = await createUser(p.stack, "Stranger");
      expect(await cancel(w.jobId, stranger.token)).toMatchObject({ status: "failed", error: { code: "not_found" } });
      expect(await cancel(w.jobId, user.token)).toMatchObject({ status: "completed" });
      const job = await jobOf(p.stack, w.jobId, user.token);
      expect(job).toMatchObject({ status: "CANCELED", error: { code: "canceled" } });
      const [ws] = await sql()<{ status: string }[]>`SELECT status FROM workspace WHERE id = ${w.workspaceId}`;
      expect(ws?.status).toBe("DELETED");
      await sql()`UPDATE hosts SET state = 'active'`;
      // Nothing runs it later, and nothing was made anywhere.
      await Bun.sleep(1_500);
      expect((await jobOf(p.stack, w.jobId, user.token)).status).toBe("CANCELED");
      for (const h of Object.keys(p.docker)) expect(await containersOf(p, h, w.workspaceId)).toEqual([]);
      // A finished job cannot be canceled.
      expect(await cancel(w.jobId, user.token)).toMatchObject({
        status: "failed",
        error: { code: "invalid_state" },
      });
    } finally {
      await sql()`UPDATE hosts SET state = 'active'`;
      await provisioner.stop();
    }
  }, 120_000);

  test("a running job stops at the next step boundary and compensates: no container left", async () => {
    const stuck = await p.provisioner({ A4C_FAULT_HANG_AFTER_STEP: "container_create" });
    await stuck.start();
    const w = await createWorkspace(p.stack, user, "stopped");
    await until("the container to be made", async () =>
      serviceLog(stuck).some((l) => l.event === "fault.hang" && l.jobId === w.jobId),
    );
    const host = (await jobOf(p.stack, w.jobId, user.token)).hostName ?? "";
    expect(await containersOf(p, host, w.workspaceId)).toHaveLength(1);
    expect(await cancel(w.jobId, user.token)).toMatchObject({ status: "completed" });
    expect((await jobOf(p.stack, w.jobId, user.token)).status).toBe("IN_PROGRESS");
    await stuck.kill();
    const rescuer: ServiceProcess = await p.provisioner();
    await rescuer.start();
    try {
      const job = await expectEnd(p.stack, w.jobId, user.token, "CANCELED");
      expect(job.error?.message).toContain("container removed");
      expect(await containersOf(p, host, w.workspaceId)).toEqual([]);
      const [ws] = await sql()<{ status: string; port: number | null }[]>`
        SELECT status, port FROM workspace WHERE id = ${w.workspaceId}`;
      expect(ws).toEqual({ status: "DELETED", port: null });
    } finally {
      await rescuer.stop();
    }
  }, 120_000);
});

describe("the hosts API", () => {
  const register = (body: Record<string, unknown>, token = p.stack.adminToken) =>
    post(p.stack, "/v1/hosts", body, { token });
  const hostRow = async (name: string) =>
    (
      await sql()<{ id: string; state: string; last_error: string | null; total_bytes: string }[]>`
      SELECT id::text, state, last_error, total_bytes::text FROM hosts WHERE name = ${name}`
    )[0];

  test("register with a pinned key, drain, activate; a wrong key is refused at the handshake", async () => {
    const provisioner = await p.provisioner();
    await provisioner.start();
    try {
      const conn = p.hosts[0]?.connection();
      if (!conn) throw new Error("host-1 expected");
      // The same machine as host-1 under another address, registered by its key's fingerprint.
      const ok = await register({
        name: "host-4",
        sshAddress: `localhost:${conn.port}`,
        hostKeySha256: hostKeyFingerprint(conn.hostKey),
      });
      expect(ok.status).toBe(202);
      expect((await settle(p.stack, ok.body.operationId as string)).body.status).toBe("completed");
      // host-2's sshd, pinned to host-1's key: an impostor as far as the pin is concerned.
      const other = p.hosts[1]?.connection();
      const bad = await register({ name: "host-5", sshAddress: `localhost:${other?.port}`, hostKey: conn.hostKey });
      expect((await settle(p.stack, bad.body.operationId as string)).body.status).toBe("completed");
      await fetch(`${provisioner.url}/hosts/refresh`, {
        method: "POST",
        headers: { authorization: `Bearer ${p.stack.adminToken}` },
      });
      await until("host-4 read and host-5 refused", async () => {
        const [four, five] = [await hostRow("host-4"), await hostRow("host-5")];
        return Number(four?.total_bytes) > 0 && five?.state === "unreachable";
      });
      expect((await hostRow("host-5"))?.last_error).toContain("verification failed");
      // The same name again: the operation fails, nothing changes.
      const twice = await register({
        name: "host-4",
        sshAddress: `localhost:${conn.port}`,
        hostKeySha256: hostKeyFingerprint(conn.hostKey),
      });
      expect((await settle(p.stack, twice.body.operationId as string)).body).toMatchObject({
        status: "failed",
        error: { code: "host_exists" },
      });
      const four = await hostRow("host-4");
      const drain = await post(p.stack, `/v1/hosts/${four?.id}/drain`, undefined, { raw: "" });
      expect((await settle(p.stack, drain.body.operationId as string)).body.status).toBe("completed");
      expect((await hostRow("host-4"))?.state).toBe("draining");
      const activate = await post(p.stack, `/v1/hosts/${four?.id}/activate`, undefined, { raw: "" });
      expect((await settle(p.stack, activate.body.operationId as string)).body.status).toBe("completed");
      expect((await hostRow("host-4"))?.state).toBe("active");
    } finally {
      await sql()`DELETE FROM hosts WHERE name IN ('host-4', 'host-5') AND NOT EXISTS (SELECT 1 FROM workspace w WHERE w.host_id = hosts.id)`;
      await provisioner.stop();
    }
  }, 120_000);

  test("bad bodies and non-admins are refused before anything is stored", async () => {
    expect(
      (
        await register({
          name: "x",
          sshAddress: "localhost:22",
          hostKey: "ssh-ed25519 AAAA",
          hostKeySha256: "SHA256:x",
        })
      ).status,
    ).toBe(400);
    expect(
      (await register({ name: "Bad Name", sshAddress: "localhost:22", hostKeySha256: `SHA256:${"a".repeat(43)}` }))
        .status,
    ).toBe(400);
    expect(
      (await register({ name: "ok", sshAddress: "localhost:99999", hostKeySha256: `SHA256:${"a".repeat(43)}` })).status,
    ).toBe(400);
    expect((await register({ name: "ok", sshAddress: "localhost:22" })).status).toBe(400);
    expect(
      (
        await register(
          { name: "ok", sshAddress: "localhost:22", hostKeySha256: `SHA256:${"a".repeat(43)}` },
          user.token,
        )
      ).status,
    ).toBe(403);
    const r = await post(p.stack, `/v1/hosts/${crypto.randomUUID()}/reboot`, undefined, { raw: "" });
    expect(r.status).toBe(404);
  });
});
