/**
 * The dashboard as a person meets it, in a real browser (Debian's Chromium) against the whole
 * system (test/helpers/clients.ts): sign in, create a workspace and watch it reach RUNNING, watch
 * a job move to its final state without a reload, filter `status:failed` and read the facets,
 * open a failed job's steps and error, delete a workspace, see the fallback banner while
 * Elasticsearch is unreachable and see it go when it is back, and the admin screens.
 * Screenshots of each screen are saved under .local/screenshots; timings are printed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, screenshot } from "../helpers/browser.ts";
import { createUser, post, settle } from "../helpers/client.ts";
import { type ClientStack, startClientStack } from "../helpers/clients.ts";
import { buildBody, requestBuild, settledImage } from "../helpers/images.ts";
import { cure, poison } from "../helpers/poison.ts";
import { until } from "../helpers/wait.ts";

let cs: ClientStack;
let browser: Browser;
let page: Page;
let user: { userId: string; token: string };
const timings: Record<string, number> = {};
/** The job of a workspace whose image does not exist (made by the status:failed test). */
let failedJob = "";
const sql = () => cs.p.stack.sql;

beforeAll(async () => {
  // Few deliveries, so a poisoned write reaches the writes DLQ quickly.
  cs = await startClientStack("dashboard", { A4C_MAX_DELIVERIES: "3" });
  user = await createUser(cs.p.stack, "Grace Hopper");
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(30_000);
}, 300_000);

afterAll(async () => {
  console.log(
    `dashboard timings (ms): ${Object.entries(timings)
      .map(([k, v]) => `${k}=${Math.round(v)}`)
      .join(" ")}`,
  );
  await browser?.close();
  await cs?.stop();
}, 120_000);

/** Creates a workspace through the API as the user; the operation is applied when this returns. */
async function createThroughApi(projectName: string, image?: string) {
  const r = await post(
    cs.p.stack,
    `/v1/users/${user.userId}/workspaces`,
    { projectName, ...(image ? { image } : {}) },
    { token: user.token },
  );
  expect(r.status).toBe(202);
  expect((await settle(cs.p.stack, r.body.operationId as string, user.token)).body.status).toBe("completed");
  return { jobId: r.body.jobId as string, workspaceId: r.body.workspaceId as string };
}

/** Waits until the search (Elasticsearch, through es-sync) holds the job in `status`. */
async function indexed(jobId: string, status: string) {
  await until(`job ${jobId} indexed as ${status}`, async () => {
    const r = await fetch(`${cs.url}/v1/jobs?q=${encodeURIComponent(`status:${status.toLowerCase()}`)}&limit=100`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    const body = (await r.json()) as { items: Array<{ id: string }> };
    return body.items.some((j) => j.id === jobId);
  });
}

/** The search box shows `q` (after the click's re-render). */
const queryIs = (q: string) =>
  until(`the search box to read "${q}"`, async () => (await page.inputValue("input[name=q]")) === q, 10_000, 50);

const statusOf = (selector: string) => page.locator(`${selector} .badge`).first();

describe("dashboard in a browser", () => {
  test("an unknown token is refused; a user token signs in to the job list", async () => {
    let started = performance.now();
    await page.goto(cs.url);
    await page.locator("input[name=token]").waitFor();
    timings.firstPage = performance.now() - started;

    await page.fill("input[name=token]", "not-a-real-token-at-all");
    await page.click("button[type=submit]");
    await expect(page.locator(".banner.error").textContent()).resolves.toContain("not known");

    await page.fill("input[name=token]", user.token);
    started = performance.now();
    await page.click("button[type=submit]");
    await page.locator("[data-testid=total]").filter({ hasText: "jobs" }).waitFor();
    timings.signInToJobs = performance.now() - started;
    await expect(page.locator("[data-testid=who]").textContent()).resolves.toContain("Grace Hopper");
  }, 60_000);

  test("a workspace created on the Workspaces screen reaches RUNNING on screen", async () => {
    await page.click("nav >> text=Workspaces");
    await page.fill("input[name=projectName]", "web-app");
    await page.click("form >> text=Create");
    await page
      .locator("[data-activity='create web-app']")
      .filter({ hasText: "job completed" })
      .waitFor({ timeout: 90_000 });
    await statusOf("[data-workspace=web-app]").filter({ hasText: "running" }).waitFor({ timeout: 30_000 });
    const rows = await sql()`SELECT status FROM workspace WHERE project_name = 'web-app'`;
    expect(rows.map((r) => r.status)).toEqual(["RUNNING"]);
    await screenshot(page, "workspaces");
  }, 120_000);

  test("a job moves to its final state on screen without a reload", async () => {
    // No host takes work: the job waits, SCHEDULED, until one is activated again.
    await sql()`UPDATE hosts SET state = 'draining'`;
    let row = "";
    try {
      const { jobId } = await createThroughApi("queued");
      await indexed(jobId, "SCHEDULED");
      await page.goto(`${cs.url}/#/jobs?q=project:queued`);
      row = `[data-job='${jobId}']`;
      await statusOf(row).filter({ hasText: "scheduled" }).waitFor();
      // Set in the page: a reload would lose it.
      await page.evaluate("window.notReloaded = true");
    } finally {
      // The hosts take work again (for the tests after this one too, whatever happened).
      await sql()`UPDATE hosts SET state = 'active'`;
    }
    await statusOf(row).filter({ hasText: "completed" }).waitFor({ timeout: 90_000 });
    expect(await page.evaluate("window.notReloaded")).toBe(true);
  }, 150_000);

  test("filtering status:failed shows the failed job and the facet counts", async () => {
    // An image that builds but breaks a workspace: no shell, so the setup step cannot run.
    const broken = await requestBuild(cs.p.stack, {
      ...buildBody("dash/broken", {}),
      dockerfile: "FROM a4c/base:latest\nRUN rm /bin/sh",
    });
    const image = await settledImage(sql(), broken.body.imageId as string);
    expect(image.status).toBe("READY");
    const { jobId } = await createThroughApi("broken", image.tag);
    failedJob = jobId;
    await indexed(jobId, "FAILED");
    await page.goto(`${cs.url}/#/jobs`);
    await page.locator("[data-facet='status:failed']").waitFor();
    // Facet counts are the search's own: 1 failed, 2 completed (web-app, queued) for this user.
    await expect(page.locator("[data-facet='status:failed'] .count").textContent()).resolves.toBe("1");
    await expect(page.locator("[data-facet='status:completed'] .count").textContent()).resolves.toBe("2");
    await screenshot(page, "jobs");

    await page.fill("input[name=q]", "status:failed");
    const started = performance.now();
    await page.press("input[name=q]", "Enter");
    await page
      .locator("[data-testid=total]")
      .filter({ hasText: /^1 jobs$/ })
      .waitFor();
    timings.filteredSearch = performance.now() - started;
    expect(await page.locator("[data-job]").count()).toBe(1);
    await statusOf(`[data-job='${jobId}']`).filter({ hasText: "failed" }).waitFor();

    // A facet is a filter: clicking the chosen one takes it away, clicking another puts that in.
    await page.click("[data-facet='status:failed']");
    await queryIs("");
    await page
      .locator("[data-testid=total]")
      .filter({ hasText: /^3 jobs$/ })
      .waitFor();
    await page.click("[data-facet='status:completed']");
    await queryIs("status:completed");
    await page
      .locator("[data-testid=total]")
      .filter({ hasText: /^2 jobs$/ })
      .waitFor();
  }, 120_000);

  test("a failed job's detail shows its steps and the error", async () => {
    await page.goto(`${cs.url}/#/jobs?q=status:failed`);
    await page.click(`[data-job='${failedJob}']`);
    await expect(page.locator("[data-testid=job-error]").textContent()).resolves.toContain("setup failed");
    await expect(page.locator("[data-step=setup]").textContent()).resolves.toContain("failed");
    await expect(page.locator("[data-step=container_create]").textContent()).resolves.toContain("done");
    await expect(page.locator("[data-step=place]").textContent()).resolves.toContain("done");
    await screenshot(page, "job-failed");
  }, 60_000);

  test("a workspace deleted on the Workspaces screen goes to DELETED", async () => {
    await page.goto(`${cs.url}/#/workspaces`);
    page.once("dialog", (d) => d.accept());
    await page.locator("[data-workspace=web-app] >> text=Delete").click();
    await statusOf("[data-workspace=web-app]").filter({ hasText: "deleted" }).waitFor({ timeout: 90_000 });
    const rows = await sql()`SELECT status, container_id FROM workspace WHERE project_name = 'web-app'`;
    expect(rows[0]?.status).toBe("DELETED");
  }, 120_000);

  test("while Elasticsearch is unreachable a banner says results come from the fallback; it goes when ES is back", async () => {
    await page.goto(`${cs.url}/#/jobs`);
    await page.locator("[data-job]").first().waitFor();
    expect(await page.locator("[data-testid=degraded-banner]").count()).toBe(0);
    // PostgreSQL is the truth the fallback answers from.
    const [{ total }] = (await sql()`
      SELECT count(*)::int AS total FROM job WHERE user_id = ${user.userId} AND status = 'COMPLETED'`) as [
      { total: number },
    ];
    await cs.elasticsearch.cut();
    try {
      await page.goto(`${cs.url}/#/jobs?q=status:completed`);
      await page.locator("[data-testid=degraded-banner]").waitFor({ timeout: 30_000 });
      // The fallback answers the same search with the same count.
      await page
        .locator("[data-testid=total]")
        .filter({ hasText: `${total} jobs` })
        .waitFor();
      await page.locator("[data-testid=source]", { hasText: "from postgres" }).waitFor();
      await screenshot(page, "jobs-degraded");
    } finally {
      await cs.elasticsearch.restore();
    }
    await page.locator("[data-testid=degraded-banner]").waitFor({ state: "detached", timeout: 60_000 });
    await page.locator("[data-testid=source]", { hasText: "from elasticsearch" }).waitFor();
  }, 120_000);

  test("the admin sees hosts with disk bars, both DLQs and the cleanup record", async () => {
    await page.click("text=Sign out");
    await page.fill("input[name=token]", cs.adminToken);
    await page.click("button[type=submit]");
    await page.locator("[data-testid=who]").filter({ hasText: "admin" }).waitFor();

    await page.click("nav >> text=Hosts");
    await page.locator("[data-host]").first().waitFor();
    expect(await page.locator("[data-host]").count()).toBe(3);
    expect(await page.locator("[data-host] .bar").count()).toBe(3);
    await screenshot(page, "hosts");

    // A write that fails every delivery (a retryable error that never clears) is given up to the DLQ.
    await sql().unsafe(poison("workspace", "NEW.project_name = 'poison'"));
    const poisoned = await post(
      cs.p.stack,
      `/v1/users/${user.userId}/workspaces`,
      { projectName: "poison" },
      { token: user.token },
    );
    const operationId = poisoned.body.operationId as string;
    const given = await settle(cs.p.stack, operationId, user.token, 60_000);
    expect(given.body).toMatchObject({ status: "failed", error: { code: "gave_up" } });

    await page.click("nav >> text=DLQs");
    await page.locator("h2", { hasText: "Writes DLQ (1)" }).waitFor();
    await page.locator("h2", { hasText: "Search sync DLQ (0)" }).waitFor();
    await page.locator(`text=${operationId}`).waitFor();
    expect(await page.locator(".banner.error").count()).toBe(0);
    await screenshot(page, "dlq");

    // The cause fixed, a replay from the screen applies it, once.
    await sql().unsafe(cure("workspace"));
    await page.locator("h2", { hasText: "Writes DLQ" }).locator("xpath=..").locator("text=Replay").click();
    await page.locator("[data-testid=replay-result]", { hasText: "replayed 1" }).waitFor();
    await page.locator("h2", { hasText: "Writes DLQ (0)" }).waitFor();
    expect((await settle(cs.p.stack, operationId, user.token)).body.status).toBe("completed");
    const rows = await sql()`SELECT count(*)::int AS n FROM workspace WHERE project_name = 'poison'`;
    expect(rows[0]?.n).toBe(1);

    await page.click("nav >> text=Cleanup");
    const [sweep] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/ops/provisioner/cleanup")),
      page.click("text=Run cleanup now"),
    ]);
    expect(sweep.status()).toBe(200);
    await page.locator("td", { hasText: "Nothing removed yet." }).waitFor();
    expect(await page.locator(".banner.error").count()).toBe(0);
    await screenshot(page, "cleanup");
  }, 90_000);

  test("a user does not see the admin screens, and the API refuses them", async () => {
    const r = await fetch(`${cs.url}/v1/hosts`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(r.status).toBe(403);
    const ops = await fetch(`${cs.url}/ops/processor/dlq`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(ops.status).toBe(401);
    await page.click("text=Sign out");
    await page.fill("input[name=token]", user.token);
    await page.click("button[type=submit]");
    await page.locator("[data-testid=who]").filter({ hasText: "Grace Hopper" }).waitFor();
    expect(await page.locator("nav >> text=Hosts").count()).toBe(0);
  }, 60_000);
});
