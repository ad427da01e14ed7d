/**
 * `npm run bench:images`: how long a small image takes to build through A4C, beside the limit —
 * `docker build` of the same context straight on the host (the docker CLI on the host's own
 * socket) — and how long an image takes to reach a second host: `docker save | docker load`
 * relayed by the provisioner over SSH (what `image_transfer` does) against building it again there.
 *
 * Every build has a context of its own (a random file), so no run is served from the build cache.
 * Knobs: BENCH_BUILDS (default 8 of each kind). Every image it makes is removed.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LOCAL } from "../infra/lib/paths.ts";
import { run } from "../infra/lib/shell.ts";
import { buildContext } from "../packages/provisioner/src/jobs/build-steps.ts";
import { buildBody, requestBuild, settledImage } from "../test/helpers/images.ts";
import { type ProvisionStack, startProvisionStack } from "../test/helpers/provision.ts";
import { directRuntime } from "./lib/hosts.ts";
import { fmt, percentiles, say } from "./lib/stats.ts";

const N = Number(process.env.BENCH_BUILDS ?? 8);

const DOCKERFILE = [
  "FROM a4c/base:latest",
  "COPY . /opt/app/",
  "RUN cd /opt/app && sha256sum payload.bin > payload.sha256 && ls -l",
  "RUN echo built > /opt/app/built.txt",
  'CMD ["cat", "/opt/app/payload.sha256"]',
].join("\n");

/** A context of its own: 256 KiB of random bytes as base64 text, so nothing comes from the build cache. */
const files = () => ({ "payload.bin": randomBytes(256 * 1024).toString("base64"), "README.md": "bench\n" });

interface Row {
  what: string;
  ms: number[];
}

function table(rows: Row[]): void {
  say("| what | n | p50 | p90 | max |");
  say("|---|---|---|---|---|");
  for (const r of rows) {
    const p = percentiles(r.ms);
    say(`| ${r.what} | ${p.count} | ${fmt(p.p50)} ms | ${fmt(p.p90)} ms | ${fmt(p.max)} ms |`);
  }
}

async function main(): Promise<void> {
  let p: ProvisionStack | null = null;
  const rows: Row[] = [];
  const scratch = join(LOCAL, "bench", `images-${randomBytes(3).toString("hex")}`);
  try {
    say(`starting a stack of our own on the launcher's hosts (${N} builds of each kind)`);
    p = await startProvisionStack("benchimg");
    const stack = p;
    const [h1, h2] = stack.hosts;
    if (!h1 || !h2) throw new Error("two hosts are needed");

    say("limit: docker build straight on host-1 (the docker CLI on its own socket, classic builder, no network)");
    const limit: Row = { what: "limit: `docker build` on the host itself", ms: [] };
    mkdirSync(scratch, { recursive: true });
    for (let i = 0; i < N; i++) {
      for (const [name, text] of Object.entries(files())) writeFileSync(join(scratch, name), text);
      writeFileSync(join(scratch, "Dockerfile"), DOCKERFILE);
      const tag = `a4c/bench-limit:${i}-${randomBytes(3).toString("hex")}`;
      const t = performance.now();
      run(
        "docker",
        [
          "-H",
          `unix://${h1.socket}`,
          "build",
          "-q",
          "--network",
          "none",
          "--label",
          `a4c.deployment=${stack.deployment}`,
          "-t",
          tag,
          scratch,
        ],
        {
          env: { DOCKER_BUILDKIT: "0" },
        },
      );
      limit.ms.push(performance.now() - t);
    }
    rows.push(limit);

    say("dockerode over the provisioner's pooled SSH connection: the same build, tar context, no database");
    const runtimes = [directRuntime(h1), directRuntime(h2)] as const;
    const direct: Row = { what: "dockerode build over SSH (no A4C around it)", ms: [] };
    const tags: string[] = [];
    for (let i = 0; i < N; i++) {
      const tag = `a4c/bench-direct:${i}-${randomBytes(3).toString("hex")}`;
      const t = performance.now();
      await runtimes[0].build(
        buildContext(DOCKERFILE, files()),
        { tag, labels: { "a4c.deployment": stack.deployment } },
        () => {},
      );
      direct.ms.push(performance.now() - t);
      tags.push(tag);
    }
    rows.push(direct);

    say("image to a second host: save on host-1 | load on host-2, relayed over SSH (image_transfer)");
    const transfer: Row = { what: "transfer: `docker save | docker load` host-1 → host-2 over SSH", ms: [] };
    for (const tag of tags) {
      const t = performance.now();
      await runtimes[1].loadImage(await runtimes[0].exportImage(tag));
      transfer.ms.push(performance.now() - t);
    }
    rows.push(transfer);
    const size = (await runtimes[0].image(tags[0] as string))?.sizeBytes ?? 0;

    say("the alternative: build the same image again on host-2");
    const rebuild: Row = { what: "build again on host-2 instead (dockerode over SSH)", ms: [] };
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      await runtimes[1].build(
        buildContext(DOCKERFILE, files()),
        {
          tag: `a4c/bench-rebuild:${i}-${randomBytes(3).toString("hex")}`,
          labels: { "a4c.deployment": stack.deployment },
        },
        () => {},
      );
      rebuild.ms.push(performance.now() - t);
    }
    rows.push(rebuild);
    for (const r of runtimes) r.ssh.close();

    say("A4C: POST /v1/images/builds → image READY (202, processor, provisioner claim, place, build, record)");
    // Production timings for disk readings (the tests read every second: `docker system df` competes with builds).
    const provisioner = await stack.provisioner({ A4C_POLL_MS: "50", A4C_DISK_REFRESH_MS: "15000" });
    await provisioner.start();
    const a4c: Row = { what: "A4C: request → image READY", ms: [] };
    const step: Row = { what: "A4C: its build step alone", ms: [] };
    for (let i = 0; i < N; i++) {
      const body = {
        ...buildBody(`bench/app-${randomBytes(3).toString("hex")}`),
        dockerfile: DOCKERFILE,
        files: files(),
      };
      const t = performance.now();
      const r = await requestBuild(stack.stack, body);
      const image = await settledImage(stack.stack.sql, r.body.imageId as string, 300_000);
      a4c.ms.push(performance.now() - t);
      if (image.status !== "READY") throw new Error(`build ${i} ended ${image.status}`);
      const [s] = await stack.stack.sql<{ ms: number }[]>`
        SELECT extract(epoch FROM finished_at - started_at) * 1000 AS ms FROM job_step
         WHERE job_id = ${r.body.jobId as string} AND name = 'build'`;
      step.ms.push(Number(s?.ms));
    }
    rows.push(a4c, step);

    say(`image size: ${(size / 1048576).toFixed(1)} MiB (busybox base + a 341 KiB context)`);
    table(rows);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (p) await p.stop();
  }
}

await main();
