/**
 * Cached reads invalidated by PostgreSQL's change log: whatever writes a row (here plain SQL, as
 * someone in psql would), the cached read changes within the lag bound, races never leave an older
 * version behind, and status streams wake on the ledger's change event.
 *
 * Isolation: the stack's own database with a private Debezium (own slot, topic prefix, stream).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUser, expectProblem, get, post, settle } from "../helpers/client.ts";
import { type FeedStack, startFeedStack, until } from "../helpers/feed-stack.ts";
import { metricsText, metricValue } from "../helpers/ops.ts";
import type { TestStack } from "../helpers/stack.ts";

/** Commit → visible in a cached read. The target is 250 ms at p99; a loaded test machine gets slack. */
const LAG_BOUND_MS = 5_000;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, checked field by field
type Body = any;

let fs: FeedStack;
let stack: TestStack;
let alice: { userId: string; token: string };
let bob: { userId: string; token: string };

beforeAll(async () => {
  fs = await startFeedStack("cache");
  stack = fs.stack;
  alice = await createUser(stack, "Alice");
  bob = await createUser(stack, "Bob");
}, 300_000);
afterAll(() => fs?.stop(), 120_000);

const hits = () => metricValue(stack.readApi, "a4c_read_cache_lookups_total", { result: "hit" });

async function workspaceOf(who: { userId: string; token: string }, projectName: string) {
  const r = await post(stack, `/v1/users/${who.userId}/workspaces`, { projectName }, { token: who.token });
  expect(r.status).toBe(202);
  const done = await settle(stack, r.body.operationId as string, who.token);
  expect(done.body.status).toBe("completed");
  const job = done.body.job as { id: string };
  return { workspaceId: r.body.workspaceId as string, operationId: r.body.operationId as string, jobId: job.id };
}

/** Reads `path` until `done`, after checking it is served from the cache before the change. */
async function expectCachedThenChanged(
  path: string,
  token: string,
  change: () => Promise<unknown>,
  done: (b: Body) => boolean,
) {
  // Fill, then read again from Redis. Change events of the row's own creation may still be on
  // their way (a loaded machine lags) and rightly evict the fill, so retry until a hit is seen.
  let served = false;
  let cached = await get(stack, path, token);
  for (let deadline = Date.now() + LAG_BOUND_MS; !served && Date.now() < deadline; ) {
    await get(stack, path, token); // fill
    const before = await hits();
    cached = await get(stack, path, token);
    expect(cached.status).toBe(200);
    served = (await hits()) > before; // served from Redis: a stale cache would show
    if (!served) await Bun.sleep(200);
  }
  expect(served).toBe(true);
  expect(done(cached.body)).toBe(false);
  await change();
  const seen = await until(
    () => get(stack, path, token),
    (r) => done(r.body),
    LAG_BOUND_MS,
  );
  expect(seen.ok).toBe(true);
  return seen.ms;
}

test("a row updated in SQL changes every cached read of it within the lag bound", async () => {
  const w = await workspaceOf(alice, "psql-edited");
  const lags: number[] = [];
  lags.push(
    await expectCachedThenChanged(
      `/v1/users/${alice.userId}`,
      alice.token,
      () => stack.sql`UPDATE users SET name = 'Alice (psql)', version = version + 1 WHERE id = ${alice.userId}`,
      (b) => b.name === "Alice (psql)",
    ),
  );
  lags.push(
    await expectCachedThenChanged(
      `/v1/workspaces/${w.workspaceId}`,
      alice.token,
      () => stack.sql`UPDATE workspace SET status = 'RUNNING', version = version + 1 WHERE id = ${w.workspaceId}`,
      (b) => b.status === "RUNNING",
    ),
  );
  lags.push(
    await expectCachedThenChanged(
      `/v1/users/${alice.userId}/workspaces?limit=1`,
      alice.token,
      () => stack.sql`UPDATE workspace SET image = 'a4c/psql:1', version = version + 1 WHERE id = ${w.workspaceId}`,
      (b) => b.items[0]?.image === "a4c/psql:1",
    ),
  );
  // A job change reaches the job and the status of the operation that created it.
  lags.push(
    await expectCachedThenChanged(
      `/status/${w.operationId}`,
      alice.token,
      () =>
        stack.sql`UPDATE job SET status = 'IN_PROGRESS', step = 'container_create', version = version + 1 WHERE id = ${w.jobId}`,
      (b) => b.job?.step === "container_create",
    ),
  );
  lags.push(
    await expectCachedThenChanged(
      `/v1/jobs/${w.jobId}`,
      alice.token,
      () =>
        stack.sql`UPDATE job SET status = 'COMPLETED', step = 'hostname_entry', version = version + 1 WHERE id = ${w.jobId}`,
      (b) => b.status === "COMPLETED",
    ),
  );
  console.log(`commit → fresh cached read: ${lags.map((l) => Math.round(l)).join(", ")} ms`);
  // A new workspace appears in the cached list too (an insert invalidates the list).
  await expectCachedThenChanged(
    `/v1/users/${alice.userId}/workspaces`,
    alice.token,
    () => workspaceOf(alice, "second"),
    (b) => b.items.some((x: { projectName: string }) => x.projectName === "second"),
  );
});

test("jobs: the owner and the admin read one; another user gets 404, never a leak", async () => {
  const w = await workspaceOf(alice, "jobs-owned");
  const own = await get(stack, `/v1/jobs/${w.jobId}`, alice.token);
  expect(own.status).toBe(200);
  expect(own.body).toMatchObject({
    id: w.jobId,
    userId: alice.userId,
    workspaceId: w.workspaceId,
    operationId: w.operationId,
  });
  expect((await get(stack, `/v1/jobs/${w.jobId}`)).status).toBe(200);
  expectProblem(await get(stack, `/v1/jobs/${w.jobId}`, bob.token), 404);
  expectProblem(await get(stack, `/v1/jobs/${crypto.randomUUID()}`, alice.token), 404);
  expectProblem(await get(stack, "/v1/jobs/not-a-uuid", alice.token), 400);
});

test("concurrent reads while updates stream in: no stale value survives once the last change settles", async () => {
  const w = await workspaceOf(bob, "raced");
  const paths = [`/v1/workspaces/${w.workspaceId}`, `/v1/users/${bob.userId}/workspaces`];
  const imageOf = (path: string, body: Body) => (path.includes("/users/") ? body.items[0]?.image : body.image);
  for (let round = 0; round < 15; round++) {
    let writing = true;
    const readers = Array.from({ length: 6 }, async (_, i) => {
      const path = paths[i % 2] as string;
      while (writing) await get(stack, path, bob.token);
    });
    const last = `img-${round}-9`;
    for (let k = 0; k < 10; k++) {
      await stack.sql`UPDATE workspace SET image = ${`img-${round}-${k}`}, version = version + 1 WHERE id = ${w.workspaceId}`;
      await Bun.sleep(k % 3 === 0 ? 0 : 7);
    }
    writing = false;
    await Promise.all(readers);
    for (const path of paths) {
      const seen = await until(
        () => get(stack, path, bob.token),
        (r) => imageOf(path, r.body) === last,
        LAG_BOUND_MS,
      );
      expect({ round, path, image: imageOf(path, seen.value.body) }).toEqual({ round, path, image: last });
    }
    // Settled: from now on every read, from the cache or not, is the last version.
    for (let k = 0; k < 10; k++) {
      for (const path of paths) expect(imageOf(path, (await get(stack, path, bob.token)).body)).toBe(last);
    }
  }
  expect(await hits()).toBeGreaterThan(0);
}, 120_000);

function sseEvents(text: string) {
  return text
    .split("\n\n")
    .filter((e) => e.startsWith("event: status"))
    .map((e) => JSON.parse(e.split("\ndata: ")[1] as string));
}

test("SSE: pending → completed for its own operation, and nothing of another user's", async () => {
  await stack.processor.stop();
  try {
    const mine = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "sse-mine" },
      { token: alice.token },
    );
    const res = await fetch(`${stack.readApi.url}/status/${mine.body.operationId}/events`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const theirs = await post(
      stack,
      `/v1/users/${bob.userId}/workspaces`,
      { projectName: "sse-theirs" },
      { token: bob.token },
    );
    expect(
      (
        await fetch(`${stack.readApi.url}/status/${theirs.body.operationId}/events`, {
          headers: { authorization: `Bearer ${alice.token}` },
        })
      ).status,
    ).toBe(404);
    await Bun.sleep(200);
    await stack.processor.start();
    const events = sseEvents(await res.text());
    expect(events.map((e) => e.status)).toEqual(["pending", "completed"]);
    expect(events.every((e) => e.operationId === mine.body.operationId)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(theirs.body.operationId as string);
    expect(JSON.stringify(events)).not.toContain(bob.userId);
  } finally {
    await stack.processor.start();
  }
});

test("SSE and ?wait= wake on the ledger's change event, with no announcement and no polling", async () => {
  await stack.processor.stop();
  try {
    const r = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "psql-settled" },
      { token: alice.token },
    );
    const op = r.body.operationId as string;
    const res = await fetch(`${stack.readApi.url}/status/${op}/events`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    const polled = get(stack, `/status/${op}?wait=20`, alice.token);
    await Bun.sleep(300);
    // Settled by hand, as an operator would: no processor, so no settle announcement on NATS.
    // The waiters' poller is off while the feed is live: only the change event can wake them.
    const started = performance.now();
    await stack.sql`
      INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table, entity_id,
                                    op_type, status, error_code, error, created_at)
      VALUES (${op}, ${alice.userId}, ${crypto.randomUUID()}, 'manual', 'workspace', ${r.body.workspaceId as string},
              'workspace.create', 'failed', 'cancelled_by_operator', 'settled in psql', now())`;
    const events = sseEvents(await res.text());
    const waited = await polled;
    const ms = performance.now() - started;
    expect(events.map((e) => e.status)).toEqual(["pending", "failed"]);
    expect(waited.body).toMatchObject({ status: "failed", error: { code: "cancelled_by_operator" } });
    // The SSE loop would otherwise only re-read after its 15 s keep-alive.
    expect(ms).toBeLessThan(LAG_BOUND_MS);
  } finally {
    await stack.processor.start();
  }
});

test("/ready shows change-data progress; /metrics shows lag, hits and fallbacks", async () => {
  const ready = await fetch(`${stack.readApi.url}/ready`);
  expect(ready.status).toBe(200);
  const body = (await ready.json()) as {
    checks: { cdc: { ok: boolean; detail: { lagMs: number; attached: boolean } } };
  };
  expect(body.checks.cdc.ok).toBe(true);
  expect(body.checks.cdc.detail.attached).toBe(true);
  expect(typeof body.checks.cdc.detail.lagMs).toBe("number");
  const text = await metricsText(stack.readApi);
  expect(text).toMatch(/a4c_cdc_lag_seconds_count\{[^}]*\} [1-9]/);
  expect(text).toContain("a4c_read_cache_lookups_total");
});

test("the alert rules' inputs: the read-api's feed is live, the processor reports the Debezium slot's WAL lag", async () => {
  const live = await until(
    () => metricValue(stack.readApi, "a4c_read_cdc_feed_live"),
    (v) => v === 1,
    20_000,
  );
  expect(live.value).toBe(1);
  const slots = await stack.sql<{ slot_name: string }[]>`
    SELECT slot_name FROM pg_replication_slots WHERE database = current_database()`;
  expect(slots.length).toBeGreaterThan(0);
  const text = await metricsText(stack.processor);
  for (const { slot_name } of slots) {
    const line = text
      .split("\n")
      .find((l) => l.startsWith("a4c_postgres_replication_slot_lag_bytes{") && l.includes(`slot="${slot_name}"`));
    expect({ slot_name, line: line ?? null }).toMatchObject({
      slot_name,
      line: expect.stringContaining('active="true"'),
    });
    expect(Number(line?.split(" ").at(-1))).toBeGreaterThanOrEqual(0);
  }
});
