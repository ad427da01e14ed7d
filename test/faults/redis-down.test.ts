/**
 * Redis down → reads stay correct (from PostgreSQL, counted), never 5xx; Redis back → the cache is
 * used again and is correct; a Redis that could not take an invalidation is flushed, not trusted.
 *
 * Isolation: a PRIVATE Redis (the launcher's is shared by every test file) and a private Debezium.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { RedisServer } from "../../infra/index.ts";
import { run } from "../../infra/lib/shell.ts";
import { createUser, get, post, settle } from "../helpers/client.ts";
import { type FeedStack, startFeedStack, until } from "../helpers/feed-stack.ts";
import { metricValue } from "../helpers/ops.ts";
import { privateRedis, type TestStack } from "../helpers/stack.ts";

let redis: RedisServer;
let fs: FeedStack;
let stack: TestStack;
let alice: { userId: string; token: string };
let w: { workspaceId: string; operationId: string; jobId: string };

beforeAll(async () => {
  redis = await privateRedis("redis-down");
  fs = await startFeedStack("redisdown", { redis });
  stack = fs.stack;
  alice = await createUser(stack, "Alice");
  const r = await post(stack, `/v1/users/${alice.userId}/workspaces`, { projectName: "r" }, { token: alice.token });
  const done = await settle(stack, r.body.operationId as string, alice.token);
  w = {
    workspaceId: r.body.workspaceId as string,
    operationId: r.body.operationId as string,
    jobId: (done.body.job as { id: string }).id,
  };
}, 300_000);

afterAll(async () => {
  await fs?.stop();
  await redis?.stop();
  if (redis) rmSync(redis.dir, { recursive: true, force: true });
}, 120_000);

const metric = (name: string, labels: Record<string, string> = {}) => metricValue(stack.readApi, name, labels);
const userPath = () => `/v1/users/${alice.userId}`;
const allPaths = () => [
  userPath(),
  `/v1/users/${alice.userId}/workspaces`,
  `/v1/workspaces/${w.workspaceId}`,
  `/v1/jobs/${w.jobId}`,
  `/status/${w.operationId}`,
];

async function rename(name: string) {
  await stack.sql`UPDATE users SET name = ${name}, version = version + 1 WHERE id = ${alice.userId}`;
}

async function readyRedis(): Promise<string> {
  const r = (await (await fetch(`${stack.readApi.url}/ready`)).json()) as { checks: { redis: { detail: string } } };
  return r.checks.redis.detail;
}

test("Redis stopped: every read is answered correctly from PostgreSQL, and counted", async () => {
  await rename("before outage");
  const warm = await until(
    () => get(stack, userPath(), alice.token),
    (r) => r.body.name === "before outage",
    5_000,
  );
  expect(warm.ok).toBe(true);
  for (const p of allPaths()) await get(stack, p, alice.token);
  await redis.stop();
  const fallbacksBefore = await metric("a4c_read_cache_fallbacks_total");
  for (const p of allPaths()) {
    const r = await get(stack, p, alice.token);
    expect({ p, status: r.status }).toEqual({ p, status: 200 });
  }
  // A change while Redis is down is visible at once: nothing is served from a cache it cannot fix.
  await rename("during outage");
  for (let i = 0; i < 20; i++) {
    const r = await get(stack, userPath(), alice.token);
    expect(r.status).toBe(200);
    expect(r.body.name).toBe("during outage");
  }
  expect(await metric("a4c_read_cache_fallbacks_total")).toBeGreaterThan(fallbacksBefore);
  expect(await readyRedis()).toContain("down");
  expect((await fetch(`${stack.readApi.url}/ready`)).status).toBe(200);
});

test("Redis back: the cache is used again, and is correct", async () => {
  await redis.start();
  const back = await until(readyRedis, (d) => d === "connected", 15_000);
  expect(back.ok).toBe(true);
  const flushed = await until(
    () => metric("a4c_read_cache_flushes_total", { reason: "redis_reconnect" }),
    (n) => n > 0,
    10_000,
  );
  expect(flushed.ok).toBe(true);
  await get(stack, userPath(), alice.token);
  const hitsBefore = await metric("a4c_read_cache_lookups_total", { result: "hit" });
  const r = await get(stack, userPath(), alice.token);
  expect(r.body.name).toBe("during outage");
  expect(await metric("a4c_read_cache_lookups_total", { result: "hit" })).toBeGreaterThan(hitsBefore);
  // And invalidation works again.
  await rename("after outage");
  const seen = await until(
    () => get(stack, userPath(), alice.token),
    (x) => x.body.name === "after outage",
    5_000,
  );
  expect(seen.ok).toBe(true);
});

test("a Redis that stalls while a change streams in is flushed, never trusted with the old value", async () => {
  await rename("pre-stall");
  await until(
    () => get(stack, userPath(), alice.token),
    (r) => r.body.name === "pre-stall",
    5_000,
  );
  await get(stack, userPath(), alice.token); // cached now
  // Redis holds every command for 2 s: the invalidation times out on our side.
  run("redis-cli", ["-p", String(redis.port), "CLIENT", "PAUSE", "2000", "ALL"]);
  await rename("post-stall");
  const deadline = Date.now() + 6_000;
  let stale = 0;
  let fresh = 0;
  while (Date.now() < deadline) {
    const r = await get(stack, userPath(), alice.token);
    expect(r.status).toBe(200);
    if (r.body.name === "post-stall") fresh++;
    else if (fresh > 0) stale++; // once fresh, never back
    await Bun.sleep(20);
  }
  expect(fresh).toBeGreaterThan(0);
  expect(stale).toBe(0);
  expect((await get(stack, userPath(), alice.token)).body.name).toBe("post-stall");
}, 30_000);
