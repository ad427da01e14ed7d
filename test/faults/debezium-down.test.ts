/**
 * Debezium down for 30 s while writes flow: the feed goes quiet, so /ready says so and cached
 * values stop being trusted; after the restart Debezium resumes from its offsets, the backlog
 * invalidates what changed, and every cached read converges on PostgreSQL — nothing stale remains.
 *
 * Isolation: the stack's own database and a private Debezium (own slot, prefix, stream), so
 * stopping it disturbs no one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUser, get, post, settle } from "../helpers/client.ts";
import { type FeedStack, startFeedStack, until } from "../helpers/feed-stack.ts";
import { metricValue } from "../helpers/ops.ts";
import type { TestStack } from "../helpers/stack.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked field by field
type Body = any;

const OUTAGE_MS = 30_000;
/** Short, so the test sees the feed declared not live well within the outage. */
const MAX_LAG_MS = 8_000;

let fs: FeedStack;
let stack: TestStack;
let alice: { userId: string; token: string };
const workspaces: Array<{ workspaceId: string; jobId: string; operationId: string }> = [];

beforeAll(async () => {
  fs = await startFeedStack("dbzdown", { env: { A4C_CDC_MAX_LAG_MS: String(MAX_LAG_MS) } });
  stack = fs.stack;
  alice = await createUser(stack, "Alice");
  for (let i = 0; i < 4; i++) {
    const r = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: `d${i}` },
      { token: alice.token },
    );
    const done = await settle(stack, r.body.operationId as string, alice.token);
    workspaces.push({
      workspaceId: r.body.workspaceId as string,
      operationId: r.body.operationId as string,
      jobId: (done.body.job as { id: string }).id,
    });
  }
}, 300_000);
afterAll(() => fs?.stop(), 120_000);

const paths = () => [
  `/v1/users/${alice.userId}`,
  `/v1/users/${alice.userId}/workspaces?limit=10`,
  ...workspaces.flatMap((w) => [`/v1/workspaces/${w.workspaceId}`, `/v1/jobs/${w.jobId}`, `/status/${w.operationId}`]),
];

/** What PostgreSQL says now, in the shape the API answers (compared field by field that matter). */
async function truth() {
  const [u] = await stack.sql<
    { name: string; version: string }[]
  >`SELECT name, version::text FROM users WHERE id = ${alice.userId}`;
  const ws = await stack.sql<{ id: string; image: string; version: string }[]>`
    SELECT id::text, image, version::text FROM workspace WHERE user_id = ${alice.userId}`;
  const jobs = await stack.sql<{ id: string; step: string | null; version: string }[]>`
    SELECT id::text, step, version::text FROM job WHERE user_id = ${alice.userId}`;
  return { user: u, ws: new Map(ws.map((w) => [w.id, w])), jobs: new Map(jobs.map((j) => [j.id, j])) };
}

/** Paths whose answer differs from PostgreSQL (empty when everything converged). */
async function staleReads(): Promise<string[]> {
  const t = await truth();
  const stale: string[] = [];
  for (const p of paths()) {
    const { status, body } = await get(stack, p, alice.token);
    const b = body as Body;
    let ok = status === 200;
    if (p.endsWith(alice.userId)) ok &&= b.version === Number(t.user?.version) && b.name === t.user?.name;
    else if (p.includes("/workspaces?"))
      ok &&= b.items.every((x: Body) => x.version === Number(t.ws.get(x.id)?.version));
    else if (p.startsWith("/v1/workspaces/")) ok &&= b.version === Number(t.ws.get(b.id)?.version);
    else if (p.startsWith("/v1/jobs/")) ok &&= b.version === Number(t.jobs.get(b.id)?.version);
    else ok &&= b.job?.step === t.jobs.get(b.job?.id)?.step;
    if (!ok) stale.push(p);
  }
  return stale;
}

async function writeRound(i: number) {
  await stack.sql`UPDATE users SET name = ${`Alice ${i}`}, version = version + 1 WHERE id = ${alice.userId}`;
  const w = workspaces[i % workspaces.length] as (typeof workspaces)[number];
  await stack.sql`UPDATE workspace SET image = ${`img-${i}`}, version = version + 1 WHERE id = ${w.workspaceId}`;
  await stack.sql`UPDATE job SET step = ${`step-${i}`}, version = version + 1 WHERE id = ${w.jobId}`;
}

async function cdcReady(): Promise<{ status: number; ok: boolean }> {
  const r = await fetch(`${stack.readApi.url}/ready`);
  const body = (await r.json()) as { checks: { cdc: { ok: boolean } } };
  return { status: r.status, ok: body.checks.cdc.ok };
}

test("Debezium down 30 s while writes flow, then restarted: the cache converges, nothing stale remains", async () => {
  // Everything cached and fresh before the outage.
  expect((await until(staleReads, (s) => s.length === 0, 10_000)).ok).toBe(true);
  for (const p of paths()) await get(stack, p, alice.token);

  await fs.feed.debezium.stop();
  const outageEnds = Date.now() + OUTAGE_MS;
  let i = 0;
  let sawNotReady = false;
  let servedFreshWhileDown = false;
  while (Date.now() < outageEnds) {
    await writeRound(i++);
    const ready = await cdcReady();
    if (!ready.ok) {
      sawNotReady = true;
      expect(ready.status).toBe(503);
      // Not live: cached values are bypassed, so reads are fresh even with the feed down.
      servedFreshWhileDown ||= (await staleReads()).length === 0;
    }
    await Bun.sleep(250);
  }
  expect(i).toBeGreaterThan(50);
  expect(sawNotReady).toBe(true);
  expect(servedFreshWhileDown).toBe(true);

  const restarted = performance.now();
  await fs.feed.debezium.start(180_000);
  // Ready again once the backlog has flowed through; then nothing stale, for good.
  expect((await until(cdcReady, (r) => r.ok, 60_000)).ok).toBe(true);
  const converged = await until(staleReads, (s) => s.length === 0, 30_000);
  expect(converged.value).toEqual([]);
  console.log(
    `converged ${Math.round(performance.now() - restarted)} ms after the restart (${i} write rounds while down)`,
  );
  // The reads above filled the cache again: it is used, and it stays right.
  // (Late events of the backlog may still evict fills on a loaded machine: bounded retries.)
  const hitsNow = () => metricValue(stack.readApi, "a4c_read_cache_lookups_total", { result: "hit" });
  let used = false;
  for (const deadline = Date.now() + 15_000; !used && Date.now() < deadline; ) {
    const hits = await hitsNow();
    for (let k = 0; k < 3; k++) expect(await staleReads()).toEqual([]);
    used = (await hitsNow()) > hits;
    if (!used) await Bun.sleep(250);
  }
  expect(used).toBe(true);
  // And the feed keeps invalidating after the restart.
  await writeRound(i++);
  expect((await until(staleReads, (s) => s.length === 0, 5_000)).value).toEqual([]);
}, 300_000);
