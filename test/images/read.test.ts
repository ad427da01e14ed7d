/**
 * The read side of images, builds and schedules, against real services: rows seeded straight into
 * PostgreSQL (as the processor, the provisioner and the scheduler would write them), then
 *   - GET /v1/images (filters, keyset pages), /v1/images/:id, /v1/schedules, /v1/jobs/:id for an
 *     image build (no owner) and /v1/jobs/:id/log (pages), with their 400 and 404 answers;
 *   - who may read what: a CI token follows builds (its own operations, images, build jobs and
 *     their logs) and is 403 everywhere else; users read images and build jobs, not others' jobs;
 *   - a build job's cached read is invalidated by its change event like any job's, and its live
 *     changes reach the admin's event stream only;
 *   - job search with repository: and image: terms on Elasticsearch (es-sync from the change log)
 *     and on the PostgreSQL fallback, with the same answers.
 *
 * Isolation: a feed stack (own database, private Debezium A, read-api with its cache) for the
 * reads, and a search env (own database, private Debezium B, es-sync, own alias) for the search.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes, randomUUID } from "node:crypto";
import { type Sql, tokenHash } from "@a4c/shared";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { type Answer, expectProblem, get } from "../helpers/client.ts";
import { type FeedStack, startFeedStack } from "../helpers/feed-stack.ts";
import { openJobEvents } from "../helpers/job-events.ts";
import { metricValue } from "../helpers/ops.ts";
import { freePort } from "../helpers/ports.ts";
import { type SearchEnv, search, startSearchEnv, versionsBoth } from "../helpers/search.ts";
import type { TestStack } from "../helpers/stack.ts";
import { until } from "../helpers/wait.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked field by field
type Body = any;

const BASE = Date.parse("2026-04-01T12:00:00.000Z");
/** n minutes before BASE, with microseconds as now() gives them. */
const at = (n: number) => `${new Date(BASE - n * 60_000).toISOString().slice(0, -1)}${String(n).padStart(3, "0")}Z`;
const iso = (n: number) => new Date(BASE - n * 60_000).toISOString();
const sha = () => randomBytes(20).toString("hex");
const token = (label: string) => `a4c_test_${label}_${randomBytes(12).toString("base64url")}`;

async function insertUser(sql: Sql, name: string) {
  const u = { userId: randomUUID(), token: token(name) };
  await sql`INSERT INTO users (id, name, email, token_hash)
            VALUES (${u.userId}, ${name}, ${`${u.userId}@example.com`}, decode(${tokenHash(u.token)}, 'hex'))`;
  return u;
}

/** A CI token (api_token, kind ci) with its id. */
async function insertCiToken(sql: Sql, name: string) {
  const t = { tokenId: randomUUID(), token: token(name) };
  await sql`INSERT INTO api_token (id, kind, name, token_hash, created_by)
            VALUES (${t.tokenId}, 'ci', ${name}, decode(${tokenHash(t.token)}, 'hex'), 'admin')`;
  return t;
}

async function insertWorkspaceJob(sql: Sql, userId: string, o: { image?: string; minutesAgo: number }) {
  const workspaceId = randomUUID();
  const jobId = randomUUID();
  await sql`INSERT INTO workspace (id, user_id, project_name, image, status)
            VALUES (${workspaceId}, ${userId}, ${`proj-${workspaceId.slice(0, 8)}`}, ${o.image ?? "a4c/base:latest"}, 'RUNNING')`;
  await sql`INSERT INTO job (id, type, status, user_id, workspace_id, operation_id, created_at)
            VALUES (${jobId}, 'WORKSPACE_CREATE', 'COMPLETED', ${userId}, ${workspaceId}, ${`op-${jobId}`},
                    ${at(o.minutesAgo)}::timestamptz)`;
  return { workspaceId, jobId };
}

interface Build {
  imageId: string;
  jobId: string;
  repository: string;
  commitSha: string;
  tag: string;
}

/**
 * An image and its IMAGE_BUILD job (no user, no workspace), as the processor or the scheduler
 * creates them: in one transaction, the image's job reference checked at commit.
 */
async function insertBuild(
  sql: Sql,
  o: {
    repository: string;
    image: "BUILDING" | "READY" | "FAILED" | "REMOVED";
    job: "SCHEDULED" | "IN_PROGRESS" | "COMPLETED" | "FAILED";
    minutesAgo: number;
    ref?: string;
    scheduleId?: string;
    built?: { digest: string; sizeBytes: number };
  },
): Promise<Build> {
  const b = { imageId: randomUUID(), jobId: randomUUID(), repository: o.repository, commitSha: sha(), tag: "" };
  b.tag = `a4c/${o.repository}:${b.commitSha}`;
  await sql.begin(async (tx) => {
    await tx`INSERT INTO image (id, repository, commit_sha, ref, trigger, tag, status, dockerfile, job_id, requested_by,
                               schedule_id, digest, size_bytes, built_at, created_at)
             VALUES (${b.imageId}, ${o.repository}, ${b.commitSha}, ${o.ref ?? null}, 'request', ${b.tag}, ${o.image},
                     'FROM a4c/base:latest', ${b.jobId}, 'admin', ${o.scheduleId ?? null}, ${o.built?.digest ?? null},
                     ${o.built?.sizeBytes ?? null}, ${o.built ? iso(o.minutesAgo - 1) : null}::timestamptz,
                     ${at(o.minutesAgo)}::timestamptz)`;
    await tx`INSERT INTO job (id, type, status, step, user_id, image_id, operation_id, error_code, error_message, created_at)
             VALUES (${b.jobId}, 'IMAGE_BUILD', ${o.job}, 'build', NULL, ${b.imageId}, ${`op-${b.jobId}`},
                     ${o.job === "FAILED" ? "build_failed" : null},
                     ${o.job === "FAILED" ? "the build failed: npm ERR! network timeout" : null},
                     ${at(o.minutesAgo)}::timestamptz)`;
  });
  return b;
}

// ---------------------------------------------------------------------------------------------
// Reads and who may make them (feed stack)
// ---------------------------------------------------------------------------------------------

let fs: FeedStack;
let stack: TestStack;
let alice: { userId: string; token: string };
let bob: { userId: string; token: string };
let ci: { tokenId: string; token: string };
let otherCi: { tokenId: string; token: string };
let aliceJob: { workspaceId: string; jobId: string };
const hosts = { a: { id: randomUUID(), name: "" }, b: { id: randomUUID(), name: "" } };
let ready: Build;
let building: Build;
let failed: Build;
let logIds: string[] = [];
const LOG = [
  ...Array.from({ length: 10 }, (_, i) => ({ step: "build", line: `Step ${i + 1}/10 : RUN make ${i}` })),
  { step: "distribute", line: "copied to host-b" },
  { step: "distribute", line: "done" },
];
const schedules = { hourly: randomUUID(), nightly: randomUUID() };
/** A build operation a CI token requested, as the ledger records it. */
const ciOperation = `op-i-${randomBytes(12).toString("hex")}-${randomBytes(6).toString("hex")}`;

async function seedReads(sql: Sql): Promise<void> {
  alice = await insertUser(sql, "Alice");
  bob = await insertUser(sql, "Bob");
  ci = await insertCiToken(sql, "ci-main");
  otherCi = await insertCiToken(sql, "ci-other");
  aliceJob = await insertWorkspaceJob(sql, alice.userId, { minutesAgo: 30 });
  const suffix = randomBytes(3).toString("hex");
  hosts.a.name = `img-a-${suffix}`;
  hosts.b.name = `img-b-${suffix}`;
  for (const [n, h] of [hosts.a, hosts.b].entries()) {
    await sql`INSERT INTO hosts (id, name, ssh_host, ssh_port, host_key)
              VALUES (${h.id}, ${h.name}, '127.0.0.1', ${40_000 + n}, ${`SHA256:${"A".repeat(43)}`})`;
  }
  await sql`INSERT INTO schedule (id, repository, ref, cron, timezone, created_by, last_tick_at, last_outcome, created_at)
            VALUES (${schedules.hourly}, 'acme/web', 'main', '0 * * * *', 'Europe/Paris', 'admin', ${iso(0)}::timestamptz,
                    'build of main started', ${at(100)}::timestamptz),
                   (${schedules.nightly}, 'acme/api', 'release', '0 3 * * *', 'UTC', 'admin', ${iso(50)}::timestamptz,
                    NULL, ${at(50)}::timestamptz)`;
  ready = await insertBuild(sql, {
    repository: "acme/api",
    image: "READY",
    job: "COMPLETED",
    minutesAgo: 20,
    ref: "main",
    built: { digest: `sha256:${"d".repeat(64)}`, sizeBytes: 123_456_789 },
  });
  building = await insertBuild(sql, { repository: "acme/api", image: "BUILDING", job: "IN_PROGRESS", minutesAgo: 10 });
  failed = await insertBuild(sql, {
    repository: "acme/web",
    image: "FAILED",
    job: "FAILED",
    minutesAgo: 5,
    ref: "main",
    scheduleId: schedules.hourly,
  });
  await sql`INSERT INTO image_host (image_id, host_id, how)
            VALUES (${ready.imageId}, ${hosts.b.id}, 'transferred'), (${ready.imageId}, ${hosts.a.id}, 'built')`;
  for (const l of LOG)
    await sql`INSERT INTO job_log (job_id, step, line) VALUES (${ready.jobId}, ${l.step}, ${l.line})`;
  logIds = (
    await sql<{ id: string }[]>`SELECT l.id::text FROM job_log l WHERE l.job_id = ${ready.jobId} ORDER BY l.id`
  ).map((r) => r.id);
  // Seven ticks of the hourly schedule: the latest started the failed build, the others had nothing to build.
  for (let n = 6; n >= 0; n--) {
    const latest = n === 0;
    await sql`INSERT INTO schedule_tick (schedule_id, tick_at, image_id, outcome, claimed_by)
              VALUES (${schedules.hourly}, ${iso(n * 60)}::timestamptz, ${latest ? failed.imageId : null},
                      ${latest ? "build of main started" : "no build request seen yet: nothing to build"}, 'test')`;
  }
  await sql`INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table, entity_id,
                                          op_type, status, job_id, created_at)
            VALUES (${ciOperation}, ${`ci:${ci.tokenId}`}, 'build-1', 'f', 'image', ${building.imageId},
                    'image.build', 'completed', ${building.jobId}, now())`;
}

const read = (path: string, tokenOf?: string) => get(stack, path, tokenOf);

/** What GET /v1/images/:id answers for the READY build. */
function readyView() {
  return {
    id: ready.imageId,
    repository: "acme/api",
    commitSha: ready.commitSha,
    ref: "main",
    tag: ready.tag,
    status: "READY",
    digest: `sha256:${"d".repeat(64)}`,
    sizeBytes: 123_456_789,
    // By host name.
    hosts: [
      { id: hosts.a.id, name: hosts.a.name, how: "built" },
      { id: hosts.b.id, name: hosts.b.name, how: "transferred" },
    ],
    jobId: ready.jobId,
    scheduleId: null,
    createdAt: iso(20),
    builtAt: iso(19),
  };
}

// ---------------------------------------------------------------------------------------------
// Search (search env: Elasticsearch through es-sync, and the PostgreSQL fallback)
// ---------------------------------------------------------------------------------------------

let env: SearchEnv;
let esApi: ServiceProcess;
let pgApi: ServiceProcess;
let searcher: { userId: string; token: string };
let searchCi: { tokenId: string; token: string };
/** The search env's jobs by name, and the tag of the first team/app build. */
const found = { app1: "", other: "", app2: "", base: "", onBuilt: "", app1Tag: "" };
type Found = Exclude<keyof typeof found, "app1Tag">;

async function seedSearch(sql: Sql): Promise<void> {
  searcher = await insertUser(sql, "Searcher");
  searchCi = await insertCiToken(sql, "ci-search");
  const app1 = await insertBuild(sql, { repository: "team/app", image: "READY", job: "COMPLETED", minutesAgo: 9 });
  const other = await insertBuild(sql, { repository: "team/other", image: "FAILED", job: "FAILED", minutesAgo: 7 });
  const app2 = await insertBuild(sql, { repository: "team/app", image: "BUILDING", job: "IN_PROGRESS", minutesAgo: 5 });
  const base = await insertWorkspaceJob(sql, searcher.userId, { minutesAgo: 8 });
  // A workspace running the first build: `image:<its tag>` finds the build and this job.
  const onBuilt = await insertWorkspaceJob(sql, searcher.userId, { image: app1.tag, minutesAgo: 6 });
  Object.assign(found, {
    app1: app1.jobId,
    other: other.jobId,
    app2: app2.jobId,
    base: base.jobId,
    onBuilt: onBuilt.jobId,
    app1Tag: app1.tag,
  });
}

beforeAll(async () => {
  const reads = (async () => {
    fs = await startFeedStack("imgread");
    stack = fs.stack;
    await seedReads(stack.sql);
  })();
  const searches = (async () => {
    env = await startSearchEnv("imgsearch");
    await seedSearch(env.sql);
    const sync = await env.esSync(1);
    await sync.start(90_000);
    await until(
      "Elasticsearch to hold every job",
      async () => {
        const { pg, es } = await versionsBoth(env.sql, env.es, env.alias);
        return pg.size === 5 && [...pg].every(([id, v]) => es.get(id) === v);
      },
      120_000,
    );
    esApi = await env.readApi("es");
    // Nothing listens there: every search is answered by PostgreSQL.
    pgApi = await env.readApi("pg", { elasticsearchUrl: `http://127.0.0.1:${await freePort()}` });
    await Promise.all([esApi.start(), pgApi.start()]);
  })();
  await Promise.all([reads, searches]);
}, 400_000);

afterAll(async () => {
  await Promise.all([fs?.stop(), env?.stop()]);
}, 120_000);

describe("GET /v1/images", () => {
  test("newest first, with the hosts that hold each; the same for the admin, a user and a CI token", async () => {
    for (const who of [undefined, alice.token, ci.token]) {
      const r = await read("/v1/images", who);
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-control")).toBe("no-store");
      const body = r.body as Body;
      expect(body.items.map((i: Body) => i.id)).toEqual([failed.imageId, building.imageId, ready.imageId]);
      expect(body.items[2]).toEqual(readyView());
      expect(body.items[0]).toMatchObject({ status: "FAILED", scheduleId: schedules.hourly, hosts: [], builtAt: null });
      expect(body.items[1]).toMatchObject({ status: "BUILDING", ref: null, digest: null, sizeBytes: null });
      expect(body.cursor).toBeNull();
    }
  });

  test("repository and status filters, in any case", async () => {
    const ids = async (query: string) =>
      ((await read(`/v1/images?${query}`)).body as Body).items.map((i: Body) => i.id);
    expect(await ids("repository=acme/api")).toEqual([building.imageId, ready.imageId]);
    expect(await ids("repository=ACME/Web")).toEqual([failed.imageId]);
    expect(await ids("status=ready")).toEqual([ready.imageId]);
    expect(await ids("status=READY&repository=acme/web")).toEqual([]);
    expect(await ids("repository=nobody/here")).toEqual([]);
  });

  test("keyset pages walk every image once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const r: Answer = await read(`/v1/images?limit=1${cursor ? `&cursor=${cursor}` : ""}`, ci.token);
      expect(r.status).toBe(200);
      seen.push(...(r.body as Body).items.map((i: Body) => i.id));
      cursor = (r.body as Body).cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([failed.imageId, building.imageId, ready.imageId]);
  });

  test("malformed parameters are 400", async () => {
    for (const query of ["status=bogus", "repository=Not%20A%20Repo!", "cursor=xyz", "limit=0", "limit=201"]) {
      expectProblem(await read(`/v1/images?${query}`), 400);
    }
    expectProblem(await read("/v1/images", "not-a-token"), 401);
  });
});

describe("GET /v1/images/:imageId", () => {
  test("one image, for anyone with a token", async () => {
    for (const who of [undefined, bob.token, ci.token]) {
      const r = await read(`/v1/images/${ready.imageId}`, who);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(readyView());
    }
  });

  test("unknown is 404, not a UUID is 400", async () => {
    expectProblem(await read(`/v1/images/${randomUUID()}`, ci.token), 404);
    expectProblem(await read("/v1/images/nope"), 400);
  });
});

describe("GET /v1/jobs/:jobId of an image build", () => {
  test("no owner, its image; readable by the admin, every user and a CI token", async () => {
    for (const who of [undefined, alice.token, bob.token, ci.token]) {
      const r = await read(`/v1/jobs/${ready.jobId}`, who);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        id: ready.jobId,
        type: "IMAGE_BUILD",
        status: "COMPLETED",
        userId: null,
        workspaceId: null,
        imageId: ready.imageId,
      });
    }
  });

  test("a workspace job: its owner and the admin only; a CI token finds none", async () => {
    const mine = await read(`/v1/jobs/${aliceJob.jobId}`, alice.token);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ userId: alice.userId, workspaceId: aliceJob.workspaceId, imageId: null });
    expect((await read(`/v1/jobs/${aliceJob.jobId}`)).status).toBe(200);
    expectProblem(await read(`/v1/jobs/${aliceJob.jobId}`, bob.token), 404);
    expectProblem(await read(`/v1/jobs/${aliceJob.jobId}`, ci.token), 404);
  });

  test("cached like any job, and invalidated by its change event", async () => {
    const path = `/v1/jobs/${building.jobId}`;
    const hits = () => metricValue(stack.readApi, "a4c_read_cache_lookups_total", { result: "hit" });
    // The seed's own change events may still evict a fill: read until one read is a hit.
    let served = false;
    for (let deadline = Date.now() + 10_000; !served && Date.now() < deadline; ) {
      await read(path, ci.token);
      const before = await hits();
      expect((await read(path, ci.token)).body).toMatchObject({ step: "build", userId: null });
      served = (await hits()) > before;
      if (!served) await Bun.sleep(200);
    }
    expect(served).toBe(true);
    await stack.sql`UPDATE job SET step = 'distribute', version = version + 1, updated_at = now() WHERE id = ${building.jobId}`;
    await until("the cached build job to show its new step", async () => {
      return ((await read(path, ci.token)).body as Body).step === "distribute";
    });
  });
});

describe("GET /v1/jobs/:jobId/log", () => {
  const logPath = (query = "") => `/v1/jobs/${ready.jobId}/log${query}`;

  test("every line in order, with its step and time", async () => {
    const r = await read(logPath(), ci.token);
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const body = r.body as Body;
    expect(body.jobId).toBe(ready.jobId);
    expect(body.lines.map((l: Body) => ({ step: l.step, line: l.line }))).toEqual(LOG);
    expect(body.lines.map((l: Body) => l.id)).toEqual(logIds);
    for (const l of body.lines) expect(Date.parse(l.at)).toBeGreaterThan(BASE - 86_400_000 * 365);
    expect(body.next).toBeNull();
  });

  test("pages: next is the last line's id while more follow; after the last line, nothing", async () => {
    const seen: string[] = [];
    let after = "0";
    for (let page = 0; page < 10; page++) {
      const body = (await read(logPath(`?after=${after}&limit=5`), alice.token)).body as Body;
      expect(body.lines.length).toBeLessThanOrEqual(5);
      seen.push(...body.lines.map((l: Body) => l.id));
      if (body.next === null) break;
      expect(body.next).toBe(body.lines.at(-1).id);
      after = body.next;
    }
    expect(seen).toEqual(logIds);
    const end = (await read(logPath(`?after=${logIds.at(-1)}`))).body as Body;
    expect(end).toEqual({ jobId: ready.jobId, lines: [], next: null });
    const exact = (await read(logPath("?limit=12"))).body as Body;
    expect([exact.lines.length, exact.next]).toEqual([12, null]);
  });

  test("read like the job: a job without lines, another user's job, a CI token on a workspace job", async () => {
    expect((await read(`/v1/jobs/${aliceJob.jobId}/log`, alice.token)).body).toEqual({
      jobId: aliceJob.jobId,
      lines: [],
      next: null,
    });
    expectProblem(await read(`/v1/jobs/${aliceJob.jobId}/log`, bob.token), 404);
    expectProblem(await read(`/v1/jobs/${aliceJob.jobId}/log`, ci.token), 404);
    expectProblem(await read(`/v1/jobs/${randomUUID()}/log`), 404);
    expect((await read(logPath(), bob.token)).status).toBe(200);
  });

  test("malformed parameters are 400", async () => {
    for (const query of ["?limit=0", "?limit=5001", "?limit=x", "?after=-1", "?after=abc", "?after=01"]) {
      expectProblem(await read(logPath(query)), 400);
    }
    expectProblem(await read("/v1/jobs/nope/log"), 400);
  });
});

describe("GET /v1/schedules", () => {
  test("the admin's: every schedule, newest first, with its last five ticks newest first", async () => {
    const r = await read("/v1/schedules");
    expect(r.status).toBe(200);
    const body = r.body as Body;
    expect(body.items.map((s: Body) => s.id)).toEqual([schedules.nightly, schedules.hourly]);
    expect(body.items[0]).toEqual({
      id: schedules.nightly,
      repository: "acme/api",
      ref: "release",
      cron: "0 3 * * *",
      timezone: "UTC",
      lastTickAt: iso(50),
      lastOutcome: null,
      createdAt: iso(50),
      recentTicks: [],
    });
    const hourly = body.items[1];
    expect(hourly).toMatchObject({
      timezone: "Europe/Paris",
      lastOutcome: "build of main started",
      lastTickAt: iso(0),
    });
    expect(hourly.recentTicks).toEqual([
      { tickAt: iso(0), imageId: failed.imageId, outcome: "build of main started" },
      ...[1, 2, 3, 4].map((n) => ({
        tickAt: iso(n * 60),
        imageId: null,
        outcome: "no build request seen yet: nothing to build",
      })),
    ]);
  });

  test("a user or a CI token: 403", async () => {
    expectProblem(await read("/v1/schedules", alice.token), 403);
    expectProblem(await read("/v1/schedules", ci.token), 403);
  });
});

describe("a CI token", () => {
  test("follows its own operations; another principal's are 404 to it, and its own to others", async () => {
    const mine = await read(`/status/${ciOperation}`, ci.token);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({
      operationId: ciOperation,
      status: "completed",
      entity: { type: "image", id: building.imageId },
      job: { id: building.jobId },
    });
    expect((await read(`/status/${ciOperation}?wait=1`, ci.token)).status).toBe(200);
    expect((await read(`/status/${ciOperation}`)).status).toBe(200);
    expectProblem(await read(`/status/${ciOperation}`, otherCi.token), 404);
    expectProblem(await read(`/status/${ciOperation}`, alice.token), 404);
    const controller = new AbortController();
    const r = await fetch(`${stack.readApi.url}/status/${ciOperation}/events`, {
      headers: { authorization: `Bearer ${ci.token}` },
      signal: controller.signal,
    });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain(`"operationId":"${ciOperation}"`);
  });

  test("is 403 on every other read", async () => {
    for (const path of [
      "/v1/me",
      "/v1/hosts",
      `/v1/users/${alice.userId}`,
      `/v1/users/${alice.userId}/workspaces`,
      `/v1/workspaces/${aliceJob.workspaceId}`,
      "/v1/jobs",
      "/v1/jobs?q=type:image_build",
      "/v1/jobs/events",
      "/v1/cleanup/actions",
      "/v1/schedules",
    ]) {
      const r = await read(path, ci.token);
      expect({ path, status: r.status }).toEqual({ path, status: 403 });
      expectProblem(r, 403);
    }
    // The users and the admin as before.
    expect((await read("/v1/me", alice.token)).body).toMatchObject({ kind: "user", user: { id: alice.userId } });
    expect((await read("/v1/me")).body).toEqual({ kind: "admin" });
  });
});

describe("live job changes of a build", () => {
  test("reach the admin's stream (userId null), not a user's", async () => {
    const open = (tokenOf: string) => openJobEvents(stack.readApi.url, tokenOf, `?ids=${failed.jobId}`);
    const admin = await open(stack.adminToken);
    const user = await open(alice.token);
    try {
      await stack.sql`UPDATE job SET step = 'retry', version = version + 1, updated_at = now() WHERE id = ${failed.jobId}`;
      await until("the admin's stream to get the change", async () => admin.events.some((e) => e.name === "job"));
      expect(admin.events.find((e) => e.name === "job")?.data).toMatchObject({
        id: failed.jobId,
        userId: null,
        type: "IMAGE_BUILD",
        step: "retry",
      });
      // The admin's stream got it; the user's, open as long, did not.
      expect(user.events.filter((e) => e.name === "job")).toEqual([]);
    } finally {
      await Promise.all([admin.close(), user.close()]);
    }
  });
});

describe("job search: repository: and image: on both backends", () => {
  const ids = (...keys: Found[]) => keys.map((k) => found[k]);
  const CASES: Array<{ q: string; expect: Found[] }> = [
    { q: "type:image_build", expect: ["app2", "other", "app1"] },
    { q: "type:image_build repository:team/app", expect: ["app2", "app1"] },
    { q: "repository:TEAM/APP", expect: ["app2", "app1"] },
    { q: "repository:team/app OR repository:team/other", expect: ["app2", "other", "app1"] },
    { q: "-repository:team/app", expect: ["onBuilt", "other", "base"] },
    { q: "type:image_build -repository:team/app status:failed", expect: ["other"] },
    { q: "-type:image_build", expect: ["onBuilt", "base"] },
  ];

  test("Elasticsearch and PostgreSQL answer the same items, totals and facets", async () => {
    const tagCases: Array<{ q: string; expect: Found[] }> = [
      { q: `image:${found.app1Tag}`, expect: ["onBuilt", "app1"] },
      { q: `image:${found.app1Tag} type:image_build`, expect: ["app1"] },
      { q: "image:a4c/base:latest", expect: ["base"] },
      { q: `-image:${found.app1Tag} -image:a4c/base:latest`, expect: ["app2", "other"] },
    ];
    for (const c of [...CASES, ...tagCases]) {
      const es = await search(esApi, env.adminToken, { q: c.q });
      const pg = await search(pgApi, env.adminToken, { q: c.q });
      expect({ q: c.q, es: es.status, pg: pg.status }).toEqual({ q: c.q, es: 200, pg: 200 });
      expect([es.body.source, pg.body.source]).toEqual(["elasticsearch", "postgres"]);
      expect({ q: c.q, ids: es.body.items.map((i) => i.id) }).toEqual({ q: c.q, ids: ids(...c.expect) });
      expect(pg.body.items).toEqual(es.body.items);
      expect([pg.body.total, es.body.total]).toEqual([c.expect.length, c.expect.length]);
      expect(pg.body.facets).toEqual(es.body.facets);
    }
  }, 60_000);

  test("a build's item: no owner, its repository, its tag as the image", async () => {
    for (const api of [esApi, pgApi]) {
      const { body } = await search(api, env.adminToken, { q: "repository:team/other" });
      expect(body.items[0]).toMatchObject({
        id: found.other,
        type: "IMAGE_BUILD",
        userId: null,
        ownerName: null,
        workspaceId: null,
        repository: "team/other",
        image: expect.stringMatching(/^a4c\/team\/other:[0-9a-f]{40}$/),
      });
      const onBuilt = (await search(api, env.adminToken, { q: "-type:image_build" })).body.items[0];
      expect(onBuilt).toMatchObject({ id: found.onBuilt, image: found.app1Tag, repository: null });
    }
  });

  test("builds belong to no user: a user's search never finds them; a CI token may not search", async () => {
    for (const api of [esApi, pgApi]) {
      const mine = await search(api, searcher.token, { q: "type:image_build" });
      expect([mine.status, mine.body.items.length]).toEqual([200, 0]);
      const all = await search(api, searcher.token, { q: `image:${found.app1Tag}` });
      expect(all.body.items.map((i) => i.id)).toEqual([found.onBuilt]);
      expect((await search(api, searchCi.token, { q: "type:image_build" })).status).toBe(403);
    }
  });

  test("malformed repository and image values are 400", async () => {
    for (const api of [esApi, pgApi]) {
      for (const q of ["repository:Not_A/Repo!", "repository:", 'image:"a b"', "image:a4c/x:y;z"]) {
        expect({ q, status: (await search(api, env.adminToken, { q })).status }).toEqual({ q, status: 400 });
      }
    }
  });
});
