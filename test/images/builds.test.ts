/**
 * Image builds on the real hosts: requested through the gateway (admin and ci tokens), built by
 * the provisioner over SSH with dockerode, one build per commit however many requests race; a
 * failing Dockerfile; workspaces on the built image (on its host, and on another one through
 * `image_transfer`); a provisioner killed -9 mid-build; the ci token's limits; image cleanup.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { requestedBuildIds as requestedIds } from "@a4c/shared";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { startCiEnv } from "../helpers/ci-consumer.ts";
import { expectProblem, get, post, settle } from "../helpers/client.ts";
import {
  buildBody,
  createCiToken,
  imageRow,
  randomSha,
  requestBuild,
  SMALL_DOCKERFILE,
  settledImage,
} from "../helpers/images.ts";
import { freePort } from "../helpers/ports.ts";
import { createUser, expectEnd, type ProvisionStack, startProvisionStack } from "../helpers/provision.ts";
import { until } from "../helpers/wait.ts";

let p: ProvisionStack;
let provisioner: ServiceProcess;
let ci: string;
const repo = `team/app-${randomSha().slice(0, 8)}`;

beforeAll(async () => {
  // The read-api's Elasticsearch is a closed port: job search answers from PostgreSQL (the
  // Elasticsearch side of `type:image_build` and `repository:` is in read.test.ts).
  p = await startProvisionStack("images", { env: { ELASTICSEARCH_URL: `http://127.0.0.1:${await freePort()}` } });
  provisioner = await p.provisioner();
  await provisioner.start();
  ci = await createCiToken(p.stack);
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

async function jobRow(jobId: string) {
  const [row] = await p.stack.sql<
    { status: string; attempts: number; error_code: string | null; error_message: string | null; host: string | null }[]
  >`SELECT j.status, j.attempts, j.error_code, j.error_message, h.name AS host
      FROM job j LEFT JOIN hosts h ON h.id = j.host_id WHERE j.id = ${jobId}`;
  return row;
}

async function hostsOf(imageId: string) {
  return p.stack.sql<{ name: string; how: string }[]>`
    SELECT h.name, ih.how FROM image_host ih JOIN hosts h ON h.id = ih.host_id WHERE ih.image_id = ${imageId} ORDER BY h.name`;
}

describe("a build requested through the API", () => {
  let built: { imageId: string; jobId: string; tag: string; host: string };

  test("a ci token's request → 202 with the build's ids → READY on a host, with digest, size and log", async () => {
    const body = buildBody(repo, { ref: "main" });
    const r = await requestBuild(p.stack, body, ci);
    expect(r.status).toBe(202);
    const { imageId, jobId, operationId } = r.body as { imageId: string; jobId: string; operationId: string };
    expect(imageId).toMatch(/^[0-9a-f-]{36}$/);
    // The ci token follows its own operation.
    const done = await settle(p.stack, operationId as string, ci);
    expect(done.body.status).toBe("completed");
    const image = await settledImage(p.stack.sql, imageId as string);
    expect(image.status).toBe("READY");
    expect(image.tag).toBe(`a4c/${repo}:${body.commitSha}`);
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Number(image.size_bytes)).toBeGreaterThan(0);
    const job = await jobRow(jobId as string);
    expect(job?.status).toBe("COMPLETED");
    const [holder] = await hostsOf(imageId as string);
    expect(holder?.how).toBe("built");
    // Docker on that host has it, under the digest we recorded, labelled with the image id.
    const inspect = await p.docker[holder?.name ?? ""]?.getImage(image.tag).inspect();
    expect(inspect?.Id).toBe(image.digest as string);
    expect(inspect?.Config.Labels?.["a4c.image-id"]).toBe(imageId as string);
    // The build's output is the job's log, in order.
    const log = await p.stack.sql<{ line: string }[]>`SELECT line FROM job_log WHERE job_id = ${jobId} ORDER BY id`;
    const text = log.map((l) => l.line).join("\n");
    expect(text).toContain(`hello from ${repo}`);
    expect(text).toMatch(/Successfully built|Successfully tagged/);
    const steps = await p.stack.sql<{ name: string; status: string; message: string }[]>`
      SELECT name, status, message FROM job_step WHERE job_id = ${jobId} ORDER BY position`;
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["place", "done"],
      ["build", "done"],
    ]);
    expect(steps[1]?.message).toContain(`built ${image.tag}`);
    built = { imageId: imageId as string, jobId: jobId as string, tag: image.tag, host: holder?.name ?? "" };
  }, 180_000);

  test("20 racing requests for one commit (any keys, ci and admin) → the same ids, one image, one build", async () => {
    const body = buildBody(repo);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => requestBuild(p.stack, body, i % 2 ? ci : undefined)),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const imageIds = new Set(answers.map((a) => a.body.imageId));
    const jobIds = new Set(answers.map((a) => a.body.jobId));
    expect(imageIds.size).toBe(1);
    expect(jobIds.size).toBe(1);
    const imageId = answers[0]?.body.imageId as string;
    for (const [i, a] of answers.entries()) {
      const s = await settle(p.stack, a.body.operationId as string, i % 2 ? ci : undefined);
      expect(s.body.status).toBe("completed");
    }
    const image = await settledImage(p.stack.sql, imageId as string);
    expect(image.status).toBe("READY");
    const [counts] = await p.stack.sql<{ images: number; jobs: number; built: number }[]>`
      SELECT (SELECT count(*)::int FROM image WHERE repository = ${repo} AND commit_sha = ${body.commitSha}) AS images,
             (SELECT count(*)::int FROM job WHERE image_id = ${imageId}) AS jobs,
             (SELECT count(*)::int FROM job_step WHERE job_id = ${image.job_id} AND name = 'build' AND attempts = 1) AS built`;
    expect(counts).toEqual({ images: 1, jobs: 1, built: 1 });
    // A request after the build answers the same build again, and builds nothing.
    const later = await requestBuild(p.stack, body);
    expect(later.body.imageId).toBe(imageId as string);
    expect((await settle(p.stack, later.body.operationId as string)).body.status).toBe("completed");
  }, 180_000);

  test("a failing Dockerfile → FAILED with the step's output in the message, found by search", async () => {
    const marker = `boom${randomSha().slice(0, 10)}`;
    const dockerfile = ["FROM a4c/base:latest", `RUN echo ${marker} && echo second-line && exit 3`].join("\n");
    const r = await requestBuild(p.stack, buildBody(repo, { dockerfile }));
    expect(r.status).toBe(202);
    const image = await settledImage(p.stack.sql, r.body.imageId as string);
    expect(image.status).toBe("FAILED");
    const job = await jobRow(r.body.jobId as string);
    expect(job?.status).toBe("FAILED");
    expect(job?.error_code).toBe("build_failed");
    expect(job?.error_message).toContain(marker);
    expect(job?.error_message).toContain("returned a non-zero code: 3");
    // No intermediate container is left behind on the host (forcerm).
    const host = p.docker[job?.host ?? ""];
    const leftovers = (await host?.listContainers({ all: true })) ?? [];
    expect(leftovers.filter((c) => !c.Labels["a4c.deployment"])).toEqual([]);
    // Searchable: the job search finds the failure by its output.
    await until("the failed build in the job search", async () => {
      const q = `type:image_build status:failed repository:${repo} "${marker}"`;
      const s = await get(p.stack, `/v1/jobs?q=${encodeURIComponent(q)}`);
      return s.status === 200 && (s.body.items as Array<{ id: string }>).some((j) => j.id === r.body.jobId);
    });
  }, 180_000);

  test("a workspace on the built image runs it, on the host that has it", async () => {
    const user = await createUser(p.stack);
    const r = await post(
      p.stack,
      `/v1/users/${user.userId}/workspaces`,
      { projectName: "on-image", image: built.tag },
      { token: user.token },
    );
    expect(r.status).toBe(202);
    expect((await settle(p.stack, r.body.operationId as string, user.token)).body.status).toBe("completed");
    const job = await expectEnd(p.stack, r.body.jobId as string, user.token);
    expect(job.hostName).toBe(built.host);
    const transfer = job.steps.find((s) => s.name === "image_transfer");
    expect(transfer?.status).toBe("skipped");
    const [c] =
      (await p.docker[built.host]?.listContainers({
        filters: { label: [`a4c.workspace-id=${r.body.workspaceId}`] },
      })) ?? [];
    expect(c?.Image).toBe(built.tag);
  }, 180_000);

  test("a workspace placed on a host without the image gets it through image_transfer (save | load)", async () => {
    // The build's host drained: the workspace must go elsewhere and the image must follow it.
    const drain = await post(p.stack, `/v1/hosts/${p.hostIds[built.host]}/drain`, undefined);
    expect((await settle(p.stack, drain.body.operationId as string)).body.status).toBe("completed");
    try {
      const user = await createUser(p.stack);
      const r = await post(
        p.stack,
        `/v1/users/${user.userId}/workspaces`,
        { projectName: "needs-transfer", image: built.tag },
        { token: user.token },
      );
      const job = await expectEnd(p.stack, r.body.jobId as string, user.token);
      expect(job.hostName).not.toBe(built.host);
      const transfer = job.steps.find((s) => s.name === "image_transfer");
      expect(transfer?.status).toBe("done");
      expect(transfer?.message).toContain(`from ${built.host} to ${job.hostName}`);
      const holders = await hostsOf(built.imageId);
      expect(holders).toContainEqual({ name: job.hostName as string, how: "transferred" });
      const inspect = await p.docker[job.hostName as string]?.getImage(built.tag).inspect();
      expect(inspect?.Id).toBe((await imageRow(p.stack.sql, built.imageId))?.digest as string);
    } finally {
      await post(p.stack, `/v1/hosts/${p.hostIds[built.host]}/activate`, undefined);
    }
  }, 180_000);

  test("a workspace on an image that is not READY, or not an image of ours, fails with a clear code", async () => {
    const user = await createUser(p.stack);
    const failed = await p.stack.sql<{ tag: string }[]>`SELECT tag FROM image WHERE status = 'FAILED' LIMIT 1`;
    for (const [image, code] of [
      [failed[0]?.tag as string, "image_not_ready"],
      [`a4c/${repo}:${randomSha()}`, "image_not_found"],
    ] as const) {
      const r = await post(
        p.stack,
        `/v1/users/${user.userId}/workspaces`,
        { projectName: `bad-${code.replace(/_/g, "-")}`, image },
        { token: user.token },
      );
      expect(r.status).toBe(202);
      const done = await settle(p.stack, r.body.operationId as string, user.token);
      expect(done.body.status).toBe("failed");
      expect((done.body.error as { code: string }).code).toBe(code);
      const [ws] = await p.stack.sql`SELECT 1 FROM workspace WHERE id = ${r.body.workspaceId as string}`;
      expect(ws).toBeUndefined();
    }
  }, 60_000);
});

describe("a build requested on Kafka (ci.builds)", () => {
  test("the ci-consumer sends it through the gateway: READY on a host, the same build as the API's", async () => {
    const ciEnv = await startCiEnv("images-kafka", {}, p.stack);
    try {
      const consumer = await ciEnv.consumer();
      await consumer.start();
      const body = buildBody(`${repo}-kafka`, { ref: "release" });
      await ciEnv.publish(JSON.stringify(body), body.repository);
      const { imageId } = requestedIds(body.repository, body.commitSha);
      await until("the image from the topic", async () => (await imageRow(p.stack.sql, imageId)) !== null, 60_000);
      const image = await settledImage(p.stack.sql, imageId);
      expect(image.status).toBe("READY");
      expect(image.tag).toBe(`a4c/${body.repository}:${body.commitSha}`);
      const [holder] = await hostsOf(imageId);
      expect((await p.docker[holder?.name ?? ""]?.getImage(image.tag).inspect())?.Id).toBe(image.digest as string);
      // The same commit through the API afterwards: answered with the topic's build.
      const again = await requestBuild(p.stack, body);
      expect(again.body.imageId).toBe(imageId);
    } finally {
      await ciEnv.stop();
    }
  }, 180_000);
});

describe("the build request is checked before it is accepted", () => {
  test("bad repository, SHA, paths or an oversized context → 400; an oversized body → 413; nothing stored", async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ ...buildBody(repo), repository: "Team/App" }, 400, "/repository"],
      [{ ...buildBody(repo), repository: "../etc" }, 400, "/repository"],
      [{ ...buildBody(repo), commitSha: "abc123" }, 400, "/commitSha"],
      [{ ...buildBody(repo), files: { "../outside": "x" } }, 400, "/files"],
      [{ ...buildBody(repo), files: { "/etc/passwd": "x" } }, 400, "/files"],
      [{ ...buildBody(repo), dockerfile: "" }, 400, "/dockerfile"],
      [{ ...buildBody(repo), extra: 1 }, 400, "/extra"],
      // Builds have no network and pull nothing: refused before anything is stored.
      [{ ...buildBody(repo), dockerfile: "FROM debian:12\nRUN true" }, 400, "/dockerfile line 1: FROM debian:12"],
      [
        { ...buildBody(repo), dockerfile: "FROM a4c/base:latest\nADD http://169.254.169.254/x /x" },
        400,
        "ADD from a URL",
      ],
      [{ ...buildBody(repo), files: { big: "x".repeat(600_000) } }, 400, "build context"],
      [{ ...buildBody(repo), files: { big: "x".repeat(700_000) } }, 413, "bytes"],
    ];
    const count = async () => (await p.stack.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM image`)[0]?.n;
    const before = await count();
    for (const [body, status, detail] of cases) {
      const r = await requestBuild(p.stack, body);
      expectProblem(r, status);
      expect(String(r.body.detail)).toContain(detail);
    }
    // Refused before it was stored: no operation waits to make an image.
    await Bun.sleep(500);
    expect(await count()).toBe(before);
  });

  test("a ci token may request builds and nothing else", async () => {
    const user = await createUser(p.stack);
    const refused = [
      await post(p.stack, "/v1/users", { name: "x", email: "x@example.com" }, { token: ci }),
      await post(p.stack, `/v1/users/${user.userId}/workspaces`, { projectName: "x" }, { token: ci }),
      await post(p.stack, `/v1/jobs/${crypto.randomUUID()}/cancel`, undefined, { token: ci }),
      await post(p.stack, "/v1/hosts", { name: "h", sshAddress: "127.0.0.1:22" }, { token: ci }),
      await post(p.stack, `/v1/hosts/${p.hostIds["host-1"]}/drain`, undefined, { token: ci }),
      await post(p.stack, "/v1/tokens", { kind: "ci", name: "more" }, { token: ci }),
      await post(p.stack, "/v1/schedules", { repository: repo, ref: "main", cron: "0 3 * * *" }, { token: ci }),
    ];
    for (const r of refused) {
      expectProblem(r, 403);
      expect(String(r.body.detail)).toContain("CI token");
    }
    // A user may not request builds.
    expectProblem(await requestBuild(p.stack, buildBody(repo), user.token), 403);
    // A token that was never made is a stranger.
    expectProblem(await requestBuild(p.stack, buildBody(repo), "a4c_ci_not-a-real-token"), 401);
  }, 60_000);
});

describe("builds share the workers with workspaces", () => {
  test("at most A4C_BUILD_CONCURRENCY builds run at once; a workspace is not held back by them", async () => {
    await provisioner.stop();
    provisioner = await p.provisioner({ A4C_BUILD_CONCURRENCY: "1", A4C_PROVISION_CONCURRENCY: "3" });
    await provisioner.start();
    const dockerfile = [SMALL_DOCKERFILE, "RUN sleep 2"].join("\n");
    const builds = await Promise.all(
      [1, 2, 3].map((i) => requestBuild(p.stack, buildBody(`${repo}-queue${i}`, { dockerfile }))),
    );
    const user = await createUser(p.stack);
    const ws = await post(
      p.stack,
      `/v1/users/${user.userId}/workspaces`,
      { projectName: "beside-builds" },
      { token: user.token },
    );
    let most = 0;
    let workspaceDoneWhileBuilding = false;
    await until(
      "the three builds",
      async () => {
        const [row] = await p.stack.sql<{ running: number; done: number; ws: string }[]>`
          SELECT count(*) FILTER (WHERE status = 'IN_PROGRESS')::int AS running,
                 count(*) FILTER (WHERE status IN ('COMPLETED', 'FAILED'))::int AS done,
                 (SELECT status FROM job WHERE id = ${ws.body.jobId as string}) AS ws
            FROM job WHERE id = ANY(${builds.map((b) => b.body.jobId as string)}::uuid[])`;
        most = Math.max(most, row?.running ?? 0);
        if (row?.ws === "COMPLETED" && (row?.done ?? 0) < 3) workspaceDoneWhileBuilding = true;
        return row?.done === 3;
      },
      120_000,
      50,
    );
    expect(most).toBe(1);
    expect(workspaceDoneWhileBuilding).toBe(true);
  }, 180_000);
});

describe("a provisioner killed -9 mid-build", () => {
  test("another resumes the build: READY, one image, no intermediate container left", async () => {
    const slowRepo = `${repo}-slow`;
    const dockerfile = [SMALL_DOCKERFILE, "RUN sleep 4 && echo slow-step-done"].join("\n");
    // The only provisioner running is the one that dies.
    await provisioner.stop();
    const victim = await p.provisioner({ A4C_INSTANCE_ID: `${p.deployment}-victim` });
    await victim.start();
    const r = await requestBuild(p.stack, buildBody(slowRepo, { dockerfile }));
    const jobId = r.body.jobId as string;
    await until(
      "the build running",
      async () => {
        const [s] = await p.stack.sql<{ status: string }[]>`
          SELECT status FROM job_step WHERE job_id = ${jobId} AND name = 'build'`;
        return s?.status === "running";
      },
      60_000,
      50,
    );
    await victim.kill();
    provisioner = await p.provisioner();
    await provisioner.start();
    const image = await settledImage(p.stack.sql, r.body.imageId as string, 120_000);
    expect(image.status).toBe("READY");
    const job = await jobRow(jobId);
    expect(job?.status).toBe("COMPLETED");
    expect(job?.attempts).toBe(2);
    const [n] = await p.stack.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM image WHERE repository = ${slowRepo}`;
    expect(n?.n).toBe(1);
    for (const [name, d] of Object.entries(p.docker)) {
      const leftovers = (await d.listContainers({ all: true })).filter((c) => !c.Labels["a4c.deployment"]);
      expect({ name, leftovers }).toEqual({ name, leftovers: [] });
    }
  }, 240_000);
});
