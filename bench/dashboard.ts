/**
 * The dashboard as a person meets it, timed in a real browser (Debian's Chromium through
 * playwright-core, a fresh browser context per run: nothing cached), by the page's own clock
 * (probes in the page, no automation round trip counted), over BENCH_JOBS seeded jobs, each
 * number beside its limit:
 *  - first page: navigation → the sign-in form on screen (page, CSS, the 40 KB script);
 *  - sign-in → the job list with its facets on screen (GET /v1/me, then the first search);
 *  - a filtered search: `status:failed` + Enter → the table redrawn with the new total;
 *  - the same search straight from this process, to the read-api and through the front door:
 *    what the browser adds beside what the API costs.
 * Once as a user (their own jobs) and once as the admin (all jobs: facets over every match).
 * It runs on a database, Debezium B, alias and services of its own (test/helpers/search.ts) on
 * the launcher's PostgreSQL, Kafka and Elasticsearch, is bounded in time and removes it all.
 * Knobs: BENCH_JOBS (200000), BENCH_RUNS (15 per view).
 */
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { ServiceProcess } from "../infra/components/service.ts";
import { PORTS, ROOT } from "../infra/lib/paths.ts";
import { launchBrowser } from "../test/helpers/browser.ts";
import { seedJobs, USERS } from "../test/helpers/job-seed.ts";
import { freePort } from "../test/helpers/ports.ts";
import { reindexAndWait, type SearchEnv, startSearchEnv } from "../test/helpers/search.ts";
import { runBounded } from "./lib/bounded.ts";
import { fmt, type Percentiles, percentiles, say } from "./lib/stats.ts";

const JOBS = Number(process.env.BENCH_JOBS ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const LIMIT_MS = 20 * 60_000;
const NATS_URL = process.env.NATS_URL ?? `nats://127.0.0.1:${PORTS.nats}`;

let env: SearchEnv | null = null;
let browser: Browser | null = null;
const services: ServiceProcess[] = [];

interface Timings {
  firstPage: number[];
  signIn: number[];
  filtered: number[];
  apiDirect: number[];
  apiDoor: number[];
}

async function timeApi(url: string, token: string, path: string, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * Timing probes, installed in the page before its own script runs, so each time is the page's
 * own clock (`performance.now()`, from the start of the navigation): when the sign-in form first
 * exists, when the submit is clicked and the job list then exists, when Enter is pressed in the
 * search box and the table then shows the expected total. No automation round trip is counted.
 */
const PROBES = `
  window.__marks = {};
  const m = window.__marks;
  const now = () => performance.now();
  document.addEventListener("click", (e) => { if (e.target.closest("button[type=submit]") && !m.clicked) m.clicked = now(); }, true);
  document.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.target.name === "q") m.entered = now(); }, true);
  new MutationObserver(() => {
    if (!m.form && document.querySelector("input[name=token]")) m.form = now();
    const total = document.querySelector("[data-testid=total]");
    const rows = document.querySelector("[data-job]");
    if (m.clicked && !m.listed && total && / jobs$/.test(total.textContent) && rows) m.listed = now();
    if (m.entered && !m.filtered && total && window.__want && window.__want.test(total.textContent)) m.filtered = now();
  }).observe(document, { subtree: true, childList: true, characterData: true });`;

async function marks(page: import("playwright-core").Page, name: string): Promise<Record<string, number>> {
  await page.waitForFunction(`!!window.__marks.${name}`, undefined, { timeout: 30_000 });
  return (await page.evaluate("window.__marks")) as Record<string, number>;
}

async function timeBrowser(door: string, token: string, filteredTotal: number): Promise<Timings> {
  const t: Timings = { firstPage: [], signIn: [], filtered: [], apiDirect: [], apiDoor: [] };
  const b = browser as Browser;
  for (let i = 0; i < RUNS; i++) {
    // A fresh context: nothing cached. Its CSP is set aside only so the probes may run in the page.
    const context = await b.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
    await context.addInitScript(PROBES);
    const page = await context.newPage();
    await page.goto(door);
    t.firstPage.push((await marks(page, "form")).form as number);

    await page.fill("input[name=token]", token);
    await page.click("button[type=submit]");
    const listed = await marks(page, "listed");
    t.signIn.push((listed.listed as number) - (listed.clicked as number));

    await page.fill("input[name=q]", "status:failed");
    await page.evaluate(`window.__want = /^(at least )?${filteredTotal} jobs$/`);
    await page.press("input[name=q]", "Enter");
    const filtered = await marks(page, "filtered");
    t.filtered.push((filtered.filtered as number) - (filtered.entered as number));
    await context.close();
  }
  return t;
}

const show = (p: Percentiles) => `p50 ${fmt(p.p50)} ms   p90 ${fmt(p.p90)} ms   max ${fmt(p.max)} ms`;

async function main(): Promise<void> {
  say(`dashboard benchmark: ${fmt(JOBS)} jobs, ${RUNS} browser runs per view`);
  env = await startSearchEnv("benchdash", {
    beforeCdc: async (sql) => {
      await seedJobs(sql, JOBS, say);
    },
    snapshotMode: "no_data",
    env: { A4C_LOG_LEVEL: "warn" },
  });
  const s = env;
  const sync = await s.esSync(1);
  await sync.start(120_000);
  say("es-sync reindex: the seeded jobs into Elasticsearch");
  await reindexAndWait(sync, LIMIT_MS);

  const readApi = await s.readApi("dash", { env: { A4C_LOG_LEVEL: "warn" } });
  await readApi.start();
  const port = async () => String(await freePort());
  const gatewayPort = await port();
  const gateway = new ServiceProcess("write-gateway", ROOT, readApi.runDir, readApi.logDir, Number(gatewayPort), {
    DATABASE_URL: s.databaseUrl,
    NATS_URL,
    A4C_NAMESPACE: readApi.env.A4C_NAMESPACE as string,
    A4C_ADMIN_TOKEN: s.adminToken,
    A4C_TOKEN_SECRET: "bench-dashboard-token-secret",
    A4C_LOG_LEVEL: "warn",
    PORT: gatewayPort,
  });
  services.push(gateway);
  await gateway.start();
  const doorPort = await port();
  const door = new ServiceProcess("dashboard", ROOT, join(readApi.runDir), join(readApi.logDir), Number(doorPort), {
    A4C_ADMIN_TOKEN: s.adminToken,
    A4C_GATEWAY_URL: gateway.url,
    A4C_READ_API_URL: readApi.url,
    A4C_LOG_LEVEL: "warn",
    PORT: doorPort,
  });
  services.push(door);
  await door.start();
  browser = await launchBrowser();

  const views = [
    { name: "a user (their own jobs)", token: "bench-user-7" },
    { name: "the admin (every job)", token: s.adminToken },
  ];
  const results: Array<{ name: string; jobs: number; failed: number; t: Timings }> = [];
  for (const v of views) {
    const answer = async (q: string) => {
      const r = await fetch(`${readApi.url}/v1/jobs?limit=20${q}`, { headers: { authorization: `Bearer ${v.token}` } });
      return ((await r.json()) as { total: number }).total;
    };
    const [jobs, failed] = [await answer(""), await answer("&q=status:failed")];
    say(`${v.name}: ${fmt(jobs)} jobs, ${fmt(failed)} failed; ${RUNS} browser runs`);
    const t = await timeBrowser(door.url, v.token, failed);
    t.apiDirect = await timeApi(readApi.url, v.token, "/v1/jobs?limit=20&q=status:failed", RUNS * 4);
    t.apiDoor = await timeApi(door.url, v.token, "/v1/jobs?limit=20&q=status:failed", RUNS * 4);
    results.push({ name: v.name, jobs, failed, t });
  }

  console.log(
    `\n== the dashboard in Chromium over ${fmt(JOBS)} jobs (${fmt(USERS)} users; 2 cores shared by everything) ==`,
  );
  for (const r of results) {
    console.log(`\n-- as ${r.name}: ${fmt(r.jobs)} jobs, ${fmt(r.failed)} failed --`);
    const line = (k: string, v: number[], limit = "") =>
      console.log(`  ${k.padEnd(44)} ${show(percentiles(v)).padEnd(48)} ${limit}`);
    line("first page (navigation start → sign-in form)", r.t.firstPage);
    line("sign-in (click → job list with facets)", r.t.signIn);
    line("filtered search (Enter → table redrawn)", r.t.filtered);
    line("  the search, straight to the read-api", r.t.apiDirect, "the limit: what the API costs");
    line("  the search, through the front door", r.t.apiDoor, "the front door's share");
  }
}

async function cleanup(): Promise<void> {
  await browser?.close().catch(() => {});
  for (const svc of services) await svc.stop().catch(() => {});
  await env?.stop();
}

await runBounded(LIMIT_MS, cleanup, main);
