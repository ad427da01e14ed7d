/**
 * The dashboard's Images screen in a real browser (Debian's Chromium) against the whole system,
 * a provisioner building on the launcher's hosts: the admin sees a built image in the list,
 * filters by repository, opens it and reads its steps and build log; watches a build that starts
 * while the page is open go from building to ready with its log growing, without a reload; sees
 * a failed build's error; creates and deletes a build schedule; makes a CI token, shown once, that
 * works. A user sees the images, not the admin's panels. Screenshots go to .local/screenshots.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, screenshot } from "../helpers/browser.ts";
import { createUser } from "../helpers/client.ts";
import { type ClientStack, startClientStack } from "../helpers/clients.ts";
import { buildBody, randomSha, requestBuild, settledImage } from "../helpers/images.ts";

let cs: ClientStack;
let browser: Browser;
let page: Page;
const repo = `web/app-${randomSha().slice(0, 8)}`;
let built: { imageId: string; jobId: string; tag: string };
const sql = () => cs.p.stack.sql;

/** Requests a build through the API (admin); its ids. */
async function build(o: { dockerfile?: string; ref?: string } = {}) {
  const body = buildBody(repo, o);
  const r = await requestBuild(cs.p.stack, body);
  expect(r.status).toBe(202);
  return {
    imageId: r.body.imageId as string,
    jobId: r.body.jobId as string,
    tag: `a4c/${repo}:${body.commitSha}`,
  };
}

beforeAll(async () => {
  cs = await startClientStack("dashboard-images");
  built = await build({ ref: "main" });
  expect((await settledImage(sql(), built.imageId)).status).toBe("READY");
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(30_000);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await cs?.stop();
}, 120_000);

const statusOf = (selector: string) => page.locator(`${selector} .badge`).first();

describe("the Images screen", () => {
  test("the admin sees the built image in the list, with its size and host; a filter narrows it", async () => {
    await page.goto(cs.url);
    await page.fill("input[name=token]", cs.adminToken);
    await page.click("button[type=submit]");
    await page.locator("[data-testid=who]").filter({ hasText: "admin" }).waitFor();
    await page.click("nav >> text=Images");
    const row = `[data-image='${built.imageId}']`;
    await statusOf(row).filter({ hasText: "ready" }).waitFor();
    const text = (await page.locator(row).textContent()) ?? "";
    expect(text).toContain(built.tag);
    expect(text).toMatch(/\d+(\.\d)? (KiB|MiB)/);
    expect(text).toMatch(/host-\d/);

    await page.fill("input[name=repository]", repo);
    await page.selectOption("select[name=status]", "READY");
    await page.click("form >> text=Filter");
    await page.waitForURL(/#\/images\?repository=/);
    await statusOf(row).filter({ hasText: "ready" }).waitFor();
    expect(await page.locator("[data-image]").count()).toBe(1);
    await page.selectOption("select[name=status]", "FAILED");
    await page.click("form >> text=Filter");
    await page.locator("td", { hasText: "No image matches." }).waitFor();
  }, 60_000);

  test("an image opens with its steps and its build log, line by line", async () => {
    await page.goto(`${cs.url}/#/images?repository=${encodeURIComponent(repo)}`);
    await page.click(`[data-image='${built.imageId}']`);
    await page.locator("[data-testid=image-detail-status]").filter({ hasText: "ready" }).waitFor();
    await expect(page.locator("h1").textContent()).resolves.toContain(built.tag);
    await expect(page.locator("[data-step=place]").textContent()).resolves.toContain("done");
    await expect(page.locator("[data-step=build]").textContent()).resolves.toContain("done");
    await page.locator("[data-testid=build-log] >> text=Successfully tagged").waitFor();
    const lines = await page.locator("[data-testid=build-log] [data-line]").allTextContents();
    // The same lines as the API's log, in order.
    const log = await sql()<{ line: string }[]>`SELECT line FROM job_log WHERE job_id = ${built.jobId} ORDER BY id`;
    expect(lines).toEqual(log.map((l) => l.line));
    expect(lines).toContain(`hello from ${repo}`);
    expect(await page.locator("[data-testid=image-hosts]").textContent()).toMatch(/host-\d \(built\)/);
    await screenshot(page, "image-detail");
  }, 60_000);

  test("a build that starts while the page is open goes from building to ready, its log growing, no reload", async () => {
    // No provisioner: the build waits, BUILDING, until one is back.
    await cs.provisioner.stop();
    let waiting: { imageId: string; jobId: string; tag: string };
    try {
      waiting = await build();
      await page.goto(`${cs.url}/#/images/${waiting.imageId}`);
      await page.locator("[data-testid=image-detail-status]").filter({ hasText: "building" }).waitFor();
      await page.locator("[data-testid=build-log]", { hasText: "Waiting for the build's output" }).waitFor();
      await page.evaluate("window.notReloaded = true");
    } finally {
      await cs.provisioner.start();
    }
    await page.locator("[data-testid=image-detail-status]").filter({ hasText: "ready" }).waitFor({ timeout: 90_000 });
    await page.locator("[data-testid=build-log] >> text=Successfully tagged").waitFor();
    await page.locator(`[data-testid=build-log] >> text=hello from ${repo}`).waitFor();
    await expect(page.locator("[data-step=build]").textContent()).resolves.toContain("done");
    expect(await page.evaluate("window.notReloaded")).toBe(true);
  }, 150_000);

  test("a failed build shows its error and the output that led to it", async () => {
    const marker = `boom-${randomSha().slice(0, 10)}`;
    const failed = await build({ dockerfile: ["FROM a4c/base:latest", `RUN echo ${marker} && exit 3`].join("\n") });
    expect((await settledImage(sql(), failed.imageId)).status).toBe("FAILED");
    await page.goto(`${cs.url}/#/images/${failed.imageId}`);
    await page.locator("[data-testid=image-detail-status]").filter({ hasText: "failed" }).waitFor();
    await expect(page.locator("[data-testid=build-error]").textContent()).resolves.toContain("build_failed");
    await page.locator(`[data-testid=build-log] >> text=${marker}`).first().waitFor();
    await expect(page.locator("[data-step=build]").textContent()).resolves.toContain("failed");
    await screenshot(page, "image-failed");
  }, 150_000);

  test("the admin creates a build schedule and deletes it", async () => {
    await page.goto(`${cs.url}/#/images`);
    await page.fill("input[name=schedule-repository]", repo);
    await page.fill("input[name=schedule-ref]", "main");
    await page.fill("input[name=schedule-cron]", "0 3 * * *");
    await page.fill("input[name=schedule-timezone]", "Europe/Paris");
    await page.getByRole("button", { name: "Add schedule", exact: true }).click();
    await page.locator(`[data-activity='create ${repo} main']`).filter({ hasText: "done" }).waitFor();
    const [row] = await sql()<{ id: string }[]>`SELECT id::text FROM schedule WHERE repository = ${repo}`;
    expect(row).toBeDefined();
    const schedule = `[data-schedule='${row?.id}']`;
    await page.locator(schedule).waitFor();
    const text = (await page.locator(schedule).textContent()) ?? "";
    expect(text).toContain("0 3 * * *");
    expect(text).toContain("Europe/Paris");
    expect(text).toContain("never");

    // A cron the gateway refuses: its words on screen, nothing made.
    await page.fill("input[name=schedule-repository]", repo);
    await page.fill("input[name=schedule-cron]", "every day");
    await page.getByRole("button", { name: "Add schedule", exact: true }).click();
    await page.locator(".banner.error", { hasText: "/cron" }).waitFor();
    await screenshot(page, "images-admin");

    page.once("dialog", (d) => d.accept());
    await page.locator(`${schedule} >> text=Delete`).click();
    await page.locator(`[data-activity='delete ${repo} main']`).filter({ hasText: "done" }).waitFor();
    await page.locator(schedule).waitFor({ state: "detached" });
    expect(await sql()`SELECT id FROM schedule WHERE repository = ${repo}`).toHaveLength(0);
  }, 60_000);

  test("a new CI token is shown once and works", async () => {
    await page.goto(`${cs.url}/#/images`);
    await page.fill("input[name=token-name]", "dashboard-ci");
    await page.getByRole("button", { name: "New CI token", exact: true }).click();
    await page.locator("[data-testid=ci-token-state]").filter({ hasText: "ready to use" }).waitFor();
    const token = ((await page.locator("[data-testid=ci-token]").textContent()) ?? "").trim();
    expect(token.length).toBeGreaterThan(20);
    await screenshot(page, "images-ci-token");
    // It reads images (and may request builds), through the front door.
    const r = await fetch(`${cs.url}/v1/images?repository=${encodeURIComponent(repo)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.status).toBe(200);
    // Shown once: gone with Done, and not on the page again after a reload.
    await page.getByRole("button", { name: "Done", exact: true }).click();
    expect(await page.locator("[data-testid=ci-token]").count()).toBe(0);
    await page.reload();
    await page.locator("h2", { hasText: "CI tokens" }).waitFor();
    expect(await page.content()).not.toContain(token);
  }, 60_000);

  test("a user sees the images but not the schedules or CI tokens", async () => {
    const user = await createUser(cs.p.stack, "Grace Hopper");
    await page.click("text=Sign out");
    await page.fill("input[name=token]", user.token);
    await page.click("button[type=submit]");
    await page.locator("[data-testid=who]").filter({ hasText: "Grace Hopper" }).waitFor();
    await page.click("nav >> text=Images");
    await statusOf(`[data-image='${built.imageId}']`).filter({ hasText: "ready" }).waitFor();
    expect(await page.locator("h2", { hasText: "Build schedules" }).count()).toBe(0);
    expect(await page.locator("h2", { hasText: "CI tokens" }).count()).toBe(0);
    await page.click(`[data-image='${built.imageId}']`);
    await page.locator(`[data-testid=build-log] >> text=hello from ${repo}`).waitFor();
  }, 60_000);
});
