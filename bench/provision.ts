import type { DockerRuntime } from "../packages/provisioner/src/index.ts";
import type { createRemoteDocker } from "../packages/shared/src/hosts/remote-docker.ts";
import {
  createUser,
  createWorkspace,
  expectEnd,
  type ProvisionStack,
  startProvisionStack,
} from "../test/helpers/provision.ts";
import { runBounded } from "./lib/bounded.ts";
import { directRuntime } from "./lib/hosts.ts";
import { type Percentiles, percentiles, say } from "./lib/stats.ts";

const N = Number(process.env.BENCH_WORKSPACES ?? 30);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 6);
const LIMIT_MS = Number(process.env.BENCH_LIMIT_MS ?? 600_000);
const MiB = 1024 * 1024;

interface Run {
  label: string;
  count: number;
  seconds: number;
  perMinute: number;
  latency: Percentiles;
}

/** Runs `n` tasks with at most `width` at once; each task's latency and the whole run's time. */
async function measure(label: string, n: number, width: number, task: (i: number) => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await task(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { label, count: n, seconds, perMinute: (n / seconds) * 60, latency: percentiles(latencies) };
}

/** create + start + exec (what container_create and setup do), straight to one host's Docker. */
async function rawCycle(runtime: DockerRuntime, deployment: string, i: number): Promise<void> {
  const id = await runtime.createWorkspaceContainer({
    name: `a4c-bench-${deployment}-${i}`,
    image: "a4c/base:latest",
    labels: { "a4c.deployment": deployment, "a4c.workspace-id": crypto.randomUUID() },
    memoryBytes: 64 * MiB,
    nanoCpus: 0.5e9,
    workspaceBytes: 16 * MiB,
    workspaceInodes: 10_000,
    hostname: `bench-${i}`,
  });
  await runtime.start(id);
  const r = await runtime.exec(id, "mkdir -p /workspace/p && echo ready > /workspace/.a4c-ready");
  if (r.code !== 0) throw new Error(`exec: ${r.output}`);
}

/** The same with dockerode's own `ssh` protocol: a new SSH connection for every API request. */
async function freshConnectionCycle(docker: ReturnType<typeof createRemoteDocker>, deployment: string, i: number) {
  const c = await docker.createContainer({
    name: `a4c-benchfresh-${deployment}-${i}`,
    Image: "a4c/base:latest",
    Cmd: ["sleep", "2147483647"],
    Labels: { "a4c.deployment": deployment, "a4c.workspace-id": crypto.randomUUID() },
    HostConfig: { NetworkMode: "none", Memory: 64 * MiB, NanoCpus: 0.5e9 },
  });
  await c.start();
  const exec = await c.exec({ Cmd: ["/bin/sh", "-c", "mkdir -p /workspace/p"], AttachStdout: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve) => {
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.resume();
  });
}

async function removeDeployment(p: ProvisionStack, deployment: string): Promise<void> {
  for (const d of Object.values(p.docker)) {
    const mine = await d.listContainers({ all: true, filters: { label: [`a4c.deployment=${deployment}`] } });
    await Promise.all(
      mine.map((c) =>
        d
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
  }
}

const table = (runs: Run[], base: Run) =>
  [
    "| run | workspaces | time | per minute | latency p50 / p99 | vs. the limit |",
    "|---|---|---|---|---|---|",
    ...runs.map(
      (r) =>
        `| ${r.label} | ${r.count} | ${r.seconds.toFixed(1)} s | ${r.perMinute.toFixed(0)} | ${Math.round(r.latency.p50)} / ${Math.round(r.latency.p99)} ms | ${((r.perMinute / base.perMinute) * 100).toFixed(0)} % |`,
    ),
  ].join("\n");

let p: ProvisionStack | null = null;
await runBounded(
  LIMIT_MS,
  async () => {
    if (p) await p.stop();
  },
  async () => {
    say(`starting a stack of our own on the launcher's hosts (${N} workspaces, ${CONCURRENCY} jobs at once)`);
    p = await startProvisionStack("benchprov");
    const stack = p;
    const runtimes = stack.hosts.map((h) => directRuntime(h));
    const fresh = Object.values(stack.docker);

    say("limit: create + start + exec straight over the pooled SSH connection");
    const raw = await measure("limit: dockerode over one pooled SSH connection per host", N, CONCURRENCY, (i) =>
      rawCycle(runtimes[i % runtimes.length] as DockerRuntime, `${stack.deployment}-raw`, i),
    );
    await removeDeployment(stack, `${stack.deployment}-raw`);
    say("the same with a new SSH connection per Docker API call (dockerode's ssh protocol)");
    const perCall = await measure("dockerode, a new SSH connection per call", N, CONCURRENCY, (i) =>
      freshConnectionCycle(
        fresh[i % fresh.length] as ReturnType<typeof createRemoteDocker>,
        `${stack.deployment}-fresh`,
        i,
      ),
    );
    await removeDeployment(stack, `${stack.deployment}-fresh`);
    for (const r of runtimes) r.ssh.close();

    say("A4C: POST /v1/users/:id/workspaces → job COMPLETED, workspace RUNNING");
    const provisioner = await stack.provisioner({
      A4C_PROVISION_CONCURRENCY: String(CONCURRENCY),
      A4C_REMOTE_TIMEOUT_MS: "60000",
      A4C_LOG_LEVEL: "warn",
    });
    await provisioner.start();
    const user = await createUser(stack.stack, "Bench");
    const a4c = await measure("A4C: API → RUNNING (place, container, setup, address, hostname)", N, N, async (i) => {
      const w = await createWorkspace(stack.stack, user, `bench-${i}`);
      await expectEnd(stack.stack, w.jobId, user.token, "COMPLETED", LIMIT_MS);
    });
    const [steps] = await stack.stack.sql<{ retried: number }[]>`
      SELECT count(*)::int AS retried FROM job_step s JOIN job j ON j.id = s.job_id
       WHERE j.user_id = ${user.userId} AND s.attempts > 1`;
    const perStep = await stack.stack.sql<{ name: string; p50: number; p99: number }[]>`
      SELECT name, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
        FROM (SELECT s.name, s.position, extract(epoch FROM s.finished_at - s.started_at) * 1000 AS ms
                FROM job_step s JOIN job j ON j.id = s.job_id WHERE j.user_id = ${user.userId}) t
       GROUP BY name, position ORDER BY position`;
    console.log(`\n${table([raw, perCall, a4c], raw)}\n`);
    console.log("step durations inside A4C (p50 / p99):");
    for (const s of perStep) console.log(`  ${s.name.padEnd(16)} ${Math.round(s.p50)} / ${Math.round(s.p99)} ms`);
    console.log(`steps retried after transient errors: ${steps?.retried ?? 0}`);
  },
);
