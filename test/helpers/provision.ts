/**
 * Provisioning tests against the launcher's real hosts: a test stack (own database, streams and
 * services) with the three hosts registered in its database, provisioners of its own (their
 * containers carry the stack's namespace as `a4c.deployment`, so no other run's cleanup daemon
 * touches them), and direct access to each host's Docker API over SSH to check what is there.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Sql } from "@a4c/shared";
import type Docker from "dockerode";
import { type DockerHost, dockerHosts } from "../../infra/components/docker-host.ts";
import { ServiceProcess } from "../../infra/components/service.ts";
import { registerHosts } from "../../infra/lib/hosts.ts";
import { LOCAL, ROOT } from "../../infra/lib/paths.ts";
import { createRemoteDocker } from "../../packages/shared/src/hosts/remote-docker.ts";
import { createUser, post, settle } from "./client.ts";
import { freePort } from "./ports.ts";
import { type StackOptions, startStack, type TestStack } from "./stack.ts";

export const MiB = 1024 * 1024;

export interface ProvisionStack {
  stack: TestStack;
  hosts: DockerHost[];
  /** Host name → id in this stack's database. */
  hostIds: Record<string, string>;
  /** Host name → a Docker API client over SSH (pinned key), for checking what the provisioner did. */
  docker: Record<string, Docker>;
  deployment: string;
  /** A new provisioner (not started) with the stack's settings and `env` on top. */
  provisioner(env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** Test-speed timings: short leases, quick polls and retries, no periodic cleanup. */
export const FAST = {
  A4C_POLL_MS: "100",
  A4C_LEASE_MS: "3000",
  A4C_DISK_REFRESH_MS: "1000",
  A4C_RETRY_BASE_MS: "200",
  A4C_PLACEMENT_RETRY_MS: "300",
  A4C_REMOTE_TIMEOUT_MS: "10000",
  A4C_SSH_CONNECT_TIMEOUT_MS: "2000",
  A4C_CLEANUP_INTERVAL_MS: "0",
  A4C_CLEANUP_GRACE_MS: "0",
  A4C_WORKSPACE_DISK_BYTES: String(16 * MiB),
  A4C_WORKSPACE_MEMORY_BYTES: String(32 * MiB),
  A4C_LOG_LEVEL: "info",
};

export async function startProvisionStack(label: string, opts: StackOptions = {}): Promise<ProvisionStack> {
  const hosts = dockerHosts(LOCAL);
  for (const h of hosts) await h.start();
  const stack = await startStack(label, opts);
  const ids = await registerHosts(stack.sql, hosts);
  const hostIds = Object.fromEntries(hosts.map((h, i) => [h.hostName, ids[i] ?? ""]));
  const docker = Object.fromEntries(
    hosts.map((h) => {
      const c = h.connection();
      return [
        h.hostName,
        createRemoteDocker({
          host: c.host,
          port: c.port,
          username: c.username,
          privateKey: readFileSync(c.privateKeyPath),
          hostKey: c.hostKey,
        }),
      ];
    }),
  );
  const deployment = stack.namespace.replace(/_$/, "");
  const started: ServiceProcess[] = [];
  let n = 0;
  return {
    stack,
    hosts,
    hostIds,
    docker,
    deployment,
    async provisioner(env = {}) {
      const port = await freePort();
      const dir = join(stack.dir, `provisioner-${++n}`);
      const svc = new ServiceProcess("provisioner", ROOT, dir, dir, port, {
        DATABASE_URL: stack.databaseUrl,
        A4C_ADMIN_TOKEN: stack.adminToken,
        A4C_SSH_KEY: join(LOCAL, "ssh", "id_ed25519"),
        A4C_DEPLOYMENT: deployment,
        A4C_INSTANCE_ID: `${deployment}-p${n}`,
        ...FAST,
        ...env,
        PORT: String(port),
      });
      (await import("node:fs")).mkdirSync(dir, { recursive: true });
      started.push(svc);
      return svc;
    },
    async stop() {
      await Promise.all(started.map((s) => s.kill().catch(() => {})));
      // Take away every container this run's deployment made, on every host.
      for (const d of Object.values(docker)) {
        const abortSignal = AbortSignal.timeout(30_000);
        const mine = await d
          .listContainers({ all: true, filters: { label: [`a4c.deployment=${deployment}`] }, abortSignal })
          .catch(() => []);
        for (const c of mine)
          await d
            .getContainer(c.Id)
            .remove({ force: true, abortSignal })
            .catch(() => {});
        // And the images it built or copied (labelled like its containers).
        const images = await (
          d.listImages({
            filters: { label: [`a4c.deployment=${deployment}`] },
            abortSignal,
          } as never) as unknown as Promise<Docker.ImageInfo[]>
        ).catch(() => []);
        for (const i of images)
          await (d.getImage(i.Id).remove({ force: true, abortSignal } as never) as unknown as Promise<unknown>).catch(
            () => {},
          );
      }
      await stack.stop();
    },
  };
}

/** This deployment's containers of one workspace on a host (by label, through the Docker API). */
export async function containersOf(p: ProvisionStack, host: string, workspaceId: string) {
  const d = p.docker[host] as Docker;
  return d.listContainers({
    all: true,
    filters: { label: [`a4c.workspace-id=${workspaceId}`, `a4c.deployment=${p.deployment}`] },
    abortSignal: AbortSignal.timeout(20_000),
  });
}

/** Every container of this deployment, per host. */
export async function allContainers(p: ProvisionStack): Promise<Record<string, Docker.ContainerInfo[]>> {
  const out: Record<string, Docker.ContainerInfo[]> = {};
  for (const [name, d] of Object.entries(p.docker)) {
    out[name] = await d.listContainers({
      all: true,
      filters: { label: [`a4c.deployment=${p.deployment}`] },
      abortSignal: AbortSignal.timeout(20_000),
    });
  }
  return out;
}

export interface Created {
  operationId: string;
  workspaceId: string;
  jobId: string;
}

/** POST a workspace for `user` and wait until the write is applied (the job exists). */
export async function createWorkspace(
  stack: TestStack,
  user: { userId: string; token: string },
  projectName: string,
): Promise<Created> {
  const r = await post(stack, `/v1/users/${user.userId}/workspaces`, { projectName }, { token: user.token });
  if (r.status !== 202) throw new Error(`create ${projectName}: ${r.status} ${JSON.stringify(r.body)}`);
  const done = await settle(stack, r.body.operationId as string, user.token);
  if (done.body.status !== "completed") throw new Error(`create ${projectName}: ${JSON.stringify(done.body)}`);
  return {
    operationId: r.body.operationId as string,
    workspaceId: r.body.workspaceId as string,
    jobId: r.body.jobId as string,
  };
}

export interface JobView {
  status: string;
  step: string | null;
  note: string | null;
  hostName: string | null;
  attempts: number;
  error: { code: string; message: string } | null;
  steps: Array<{ name: string; status: string; attempts: number; message: string | null }>;
}

export async function jobOf(stack: TestStack, jobId: string, token: string): Promise<JobView> {
  const r = await fetch(`${stack.readApi.url}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${token}` } });
  return (await r.json()) as JobView;
}

/** Polls the job until `done` says so; the last view. */
export async function untilJob(
  stack: TestStack,
  jobId: string,
  token: string,
  done: (j: JobView) => boolean,
  timeoutMs = 60_000,
): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await jobOf(stack, jobId, token);
    if (done(j)) return j;
    if (Date.now() > deadline) throw new Error(`job ${jobId} not there after ${timeoutMs} ms: ${JSON.stringify(j)}`);
    await Bun.sleep(150);
  }
}

export const finished = (j: JobView) => ["COMPLETED", "FAILED", "CANCELED"].includes(j.status);

/** The job's end, with its error in the message when it is not `want`. */
export async function expectEnd(
  stack: TestStack,
  jobId: string,
  token: string,
  want = "COMPLETED",
  timeoutMs = 90_000,
) {
  const j = await untilJob(stack, jobId, token, finished, timeoutMs);
  if (j.status !== want)
    throw new Error(`job ${jobId} ended ${j.status}, not ${want}: ${JSON.stringify(j.error ?? j.steps)}`);
  return j;
}

export { createUser };

/** A live workspace row holding `bytes` on a host, to make that host look used. */
export async function holdDisk(sql: Sql, userId: string, hostId: string, bytes: number): Promise<void> {
  await sql`
    INSERT INTO workspace (id, user_id, project_name, image, status, host_id, disk_bytes)
    VALUES (gen_random_uuid(), ${userId}, ${`ballast-${crypto.randomUUID().slice(0, 8)}`}, 'a4c/base:latest', 'RUNNING',
            ${hostId}, ${bytes})`;
}
