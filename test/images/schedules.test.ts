/**
 * Build schedules with two schedulers running (two provisioners): every tick starts exactly one
 * build; ticks missed while no scheduler ran give one catch-up build, not a burst; the ref
 * resolves to the latest build request seen for it. And image cleanup: an image nobody uses,
 * older than the retention, is removed from its hosts and recorded; one a workspace runs is kept.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { claimImageRemoval } from "@a4c/shared";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { del, expectProblem, post, settle } from "../helpers/client.ts";
import { buildBody, randomSha, requestBuild, settledImage } from "../helpers/images.ts";
import { createUser, expectEnd, type ProvisionStack, startProvisionStack } from "../helpers/provision.ts";
import { until } from "../helpers/wait.ts";

let p: ProvisionStack;
const repo = `sched/app-${randomSha().slice(0, 8)}`;
/** Builders: provisioners that run jobs but schedule nothing. */
const SCHEDULER_OFF = { A4C_SCHEDULER_INTERVAL_MS: "0" };
/** Schedulers only: they claim ticks and run no job. */
const SCHEDULER_ONLY = { A4C_SCHEDULER_INTERVAL_MS: "200", A4C_PROVISION_CONCURRENCY: "0" };

beforeAll(async () => {
  p = await startProvisionStack("schedules", { env: { A4C_MIN_SCHEDULE_INTERVAL_S: "2" } });
  await (await p.provisioner(SCHEDULER_OFF)).start();
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

async function ticksOf(scheduleId: string) {
  return p.stack.sql<{ tick_at: Date; image_id: string | null; claimed_by: string }[]>`
    SELECT tick_at, image_id::text, claimed_by FROM schedule_tick WHERE schedule_id = ${scheduleId} ORDER BY tick_at`;
}

async function createSchedule(body: Record<string, string>): Promise<string> {
  const r = await post(p.stack, "/v1/schedules", body);
  expect(r.status).toBe(202);
  expect((await settle(p.stack, r.body.operationId as string)).body.status).toBe("completed");
  return r.body.scheduleId as string;
}

async function deleteSchedule(id: string): Promise<void> {
  const r = await del(p.stack, `/v1/schedules/${id}`);
  expect((await settle(p.stack, r.body.operationId as string)).body.status).toBe("completed");
}

describe("schedules", () => {
  let head: { sha: string; imageId: string };

  beforeAll(async () => {
    // The ref's head: the latest build request seen for `main`.
    const body = buildBody(repo, { ref: "main" });
    const r = await requestBuild(p.stack, body);
    head = { sha: body.commitSha, imageId: r.body.imageId as string };
    expect((await settledImage(p.stack.sql, head.imageId)).status).toBe("READY");
  }, 120_000);

  test("bad schedules are refused: cron, time zone, too frequent, unknown fields", async () => {
    for (const [body, detail] of [
      [{ repository: repo, ref: "main", cron: "every day" }, "/cron"],
      [{ repository: repo, ref: "main", cron: "0 3 * * *", timezone: "Mars/Base" }, "/timezone"],
      [{ repository: repo, ref: "main", cron: "* * * * * *" }, "at most every 2 s"],
      [{ repository: repo, ref: "main", cron: "0 3 * * *", when: "now" }, "/when"],
    ] as const) {
      const r = await post(p.stack, "/v1/schedules", body);
      expectProblem(r, 400);
      expect(String(r.body.detail)).toContain(detail);
    }
    // Deleting a schedule that does not exist fails the operation with a code.
    const r = await del(p.stack, `/v1/schedules/${crypto.randomUUID()}`);
    const done = await settle(p.stack, r.body.operationId as string);
    expect(done.body.status).toBe("failed");
    expect((done.body.error as { code: string }).code).toBe("not_found");
  });

  test("two schedulers, a tick every 3 s: each tick claimed once, one build per tick", async () => {
    const a = await p.provisioner({ ...SCHEDULER_ONLY, A4C_INSTANCE_ID: `${p.deployment}-sched-a` });
    const b = await p.provisioner({ ...SCHEDULER_ONLY, A4C_INSTANCE_ID: `${p.deployment}-sched-b` });
    await Promise.all([a.start(), b.start()]);
    try {
      const id = await createSchedule({ repository: repo, ref: "main", cron: "*/3 * * * * *" });
      await until("two ticks", async () => (await ticksOf(id)).length >= 2, 20_000, 100);
      await deleteSchedule(id);
      const ticks = await ticksOf(id);
      // Ticks are distinct (the primary key) and 3 s apart; each has its one image.
      for (let i = 1; i < ticks.length; i++) {
        expect((ticks[i]?.tick_at.getTime() ?? 0) - (ticks[i - 1]?.tick_at.getTime() ?? 0)).toBe(3_000);
      }
      const images = await p.stack.sql<{ id: string; commit_sha: string; tag: string; job_id: string }[]>`
        SELECT id::text, commit_sha, tag, job_id::text FROM image WHERE schedule_id = ${id} ORDER BY created_at`;
      expect(images.length).toBe(ticks.length);
      expect(new Set(images.map((i) => i.id))).toEqual(new Set(ticks.map((t) => t.image_id as string)));
      // The ref resolved to the latest request's commit; each build has its own tag.
      for (const image of images) {
        expect(image.commit_sha).toBe(head.sha);
        expect(image.tag).toMatch(new RegExp(`^a4c/${repo}:${head.sha}-s\\d{14}-${id.replace(/-/g, "").slice(-8)}$`));
      }
      // And they build.
      for (const image of images) expect((await settledImage(p.stack.sql, image.id)).status).toBe("READY");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);

  test("ticks missed while no scheduler ran: one catch-up build, not a burst", async () => {
    const id = await createSchedule({ repository: repo, ref: "main", cron: "*/2 * * * * *" });
    // No scheduler runs: 3 or more ticks pass unclaimed.
    await Bun.sleep(7_000);
    expect((await ticksOf(id)).length).toBe(0);
    const s: ServiceProcess = await p.provisioner({ ...SCHEDULER_ONLY, A4C_SCHEDULER_INTERVAL_MS: "5000" });
    const started = Date.now();
    await s.start();
    try {
      await until("the catch-up tick", async () => (await ticksOf(id)).length >= 1, 10_000, 100);
      const ticks = await ticksOf(id);
      // The first pass claimed the newest missed tick only (the next pass is 5 s away).
      expect(ticks.length).toBe(1);
      expect(ticks[0]?.tick_at.getTime()).toBeLessThanOrEqual(Date.now());
      expect(ticks[0]?.tick_at.getTime()).toBeGreaterThan(started - 2_500);
    } finally {
      await s.stop();
      await deleteSchedule(id);
    }
  }, 60_000);

  test("two schedules of one ref firing in the same second: one build each, neither holds the other back", async () => {
    const s = await p.provisioner(SCHEDULER_ONLY);
    await s.start();
    try {
      const first = await createSchedule({ repository: repo, ref: "main", cron: "*/2 * * * * *" });
      const second = await createSchedule({ repository: repo, ref: "main", cron: "*/2 * * * * *" });
      await until(
        "a tick of each",
        async () => (await ticksOf(first)).length >= 1 && (await ticksOf(second)).length >= 1,
        15_000,
        100,
      );
      await Promise.all([deleteSchedule(first), deleteSchedule(second)]);
      const ticks = [...(await ticksOf(first)), ...(await ticksOf(second))];
      expect(ticks.every((t) => t.image_id !== null)).toBe(true);
      const tags = await p.stack.sql<{ tag: string }[]>`
        SELECT tag FROM image WHERE schedule_id IN (${first}, ${second})`;
      expect(new Set(tags.map((t) => t.tag)).size).toBe(ticks.length);
    } finally {
      await s.stop();
    }
  }, 60_000);

  test("a ref no build request named: the tick is recorded, nothing is built", async () => {
    const s = await p.provisioner(SCHEDULER_ONLY);
    await s.start();
    try {
      const id = await createSchedule({ repository: repo, ref: "never-built", cron: "*/2 * * * * *" });
      await until("a tick", async () => (await ticksOf(id)).length >= 1, 10_000, 100);
      await deleteSchedule(id);
      const [tick] = await p.stack.sql<{ outcome: string; image_id: string | null }[]>`
        SELECT outcome, image_id::text FROM schedule_tick WHERE schedule_id = ${id}`;
      expect(tick?.image_id).toBeNull();
      expect(tick?.outcome).toContain("no build request seen yet");
    } finally {
      await s.stop();
    }
  }, 60_000);
});

describe("image cleanup", () => {
  test("a workspace create that names the image while its removal begins keeps it (the two serialize)", async () => {
    const r = await requestBuild(p.stack, buildBody(`${repo}-race`));
    const image = await settledImage(p.stack.sql, r.body.imageId as string);
    const user = await createUser(p.stack);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // A create in flight, as the processor's: it checked the image (FOR SHARE) and made its workspace.
    const create = p.stack.sql.begin(async (tx) => {
      await tx`SELECT 1 FROM image WHERE tag = ${image.tag} AND status = 'READY' FOR SHARE`;
      await tx`INSERT INTO workspace (id, user_id, project_name, image, status)
               VALUES (${crypto.randomUUID()}, ${user.userId}, 'race', ${image.tag}, 'CREATING')`;
      locked();
      await held;
    });
    await isLocked;
    const removal = claimImageRemoval(p.stack.sql, image.id);
    // The removal waits for the create; once it commits, the removal sees its workspace.
    await Bun.sleep(300);
    release();
    await create;
    expect(await removal).toBe(false);
    const [after] = await p.stack.sql<{ status: string }[]>`SELECT status FROM image WHERE id = ${image.id}`;
    expect(after?.status).toBe("READY");
  }, 60_000);

  test("an unused image past the retention leaves its hosts (recorded); one a workspace runs stays", async () => {
    const unused = await requestBuild(p.stack, buildBody(`${repo}-unused`));
    const used = await requestBuild(p.stack, buildBody(`${repo}-used`));
    const unusedImage = await settledImage(p.stack.sql, unused.body.imageId as string);
    const usedImage = await settledImage(p.stack.sql, used.body.imageId as string);
    expect([unusedImage.status, usedImage.status]).toEqual(["READY", "READY"]);
    const user = await createUser(p.stack);
    const ws = await post(
      p.stack,
      `/v1/users/${user.userId}/workspaces`,
      { projectName: "keeps-image", image: usedImage.tag },
      { token: user.token },
    );
    await expectEnd(p.stack, ws.body.jobId as string, user.token);
    const [{ host } = { host: "" }] = await p.stack.sql<{ host: string }[]>`
      SELECT h.name AS host FROM image_host ih JOIN hosts h ON h.id = ih.host_id WHERE ih.image_id = ${unusedImage.id}`;
    // A cleaning provisioner with a retention of about a second.
    const cleaner = await p.provisioner({
      ...SCHEDULER_OFF,
      A4C_PROVISION_CONCURRENCY: "0",
      A4C_CLEANUP_INTERVAL_MS: "500",
      A4C_IMAGE_RETENTION_HOURS: "0.0003",
    });
    await Bun.sleep(1_200);
    await cleaner.start();
    try {
      // The image is REMOVED first (out of use), then removed from its host and recorded.
      await until(
        "the unused image removed and recorded",
        async () =>
          (
            await p.stack.sql`
              SELECT 1 FROM image i JOIN cleanup_action c ON c.image_id = i.id
               WHERE i.id = ${unusedImage.id} AND i.status = 'REMOVED'`
          ).length > 0,
        30_000,
      );
      const actions = await p.stack.sql<{ action: string; reason: string; container_id: string | null }[]>`
        SELECT action, reason, container_id FROM cleanup_action WHERE image_id = ${unusedImage.id}`;
      expect(actions.map((a) => a.action)).toEqual(["removed"]);
      expect(actions[0]?.reason).toContain(unusedImage.tag);
      expect(actions[0]?.container_id).toBeNull();
      await expect(p.docker[host]?.getImage(unusedImage.tag).inspect()).rejects.toThrow();
      // The image a workspace runs is still there, READY.
      const [kept] = await p.stack.sql<{ status: string }[]>`SELECT status FROM image WHERE id = ${usedImage.id}`;
      expect(kept?.status).toBe("READY");
      // A workspace can no longer name the removed image.
      const again = await post(
        p.stack,
        `/v1/users/${user.userId}/workspaces`,
        { projectName: "on-removed", image: unusedImage.tag },
        { token: user.token },
      );
      const done = await settle(p.stack, again.body.operationId as string, user.token);
      expect((done.body.error as { code: string }).code).toBe("image_not_ready");
    } finally {
      await cleaner.stop();
    }
  }, 180_000);
});
