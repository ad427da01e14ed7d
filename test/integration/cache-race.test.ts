/**
 * The cache's fill protocol against a real Redis, with the interleavings a black-box test can
 * only hit by luck made deterministic: an invalidation (or a flush) that lands while a miss is
 * reading PostgreSQL must keep that read's value out of the cache.
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { ReadCache, readMetrics } from "@a4c/read-api";
import { createLogger } from "@a4c/shared";
import { PORTS } from "../../infra/lib/paths.ts";

const url = process.env.REDIS_URL ?? `redis://127.0.0.1:${PORTS.redis}`;
const namespace = `t${randomBytes(4).toString("hex")}_`;
const cache = new ReadCache(url, namespace, createLogger("test", "silent"), readMetrics(), {
  ttlSeconds: 60,
  usable: () => true,
});

afterAll(async () => {
  const keys = await cache.redis.keys(`a4c:${namespace}:*`);
  if (keys.length) await cache.redis.del(...keys);
  await cache.close();
});

async function ready() {
  for (let i = 0; i < 100 && !cache.connected; i++) await Bun.sleep(20);
  expect(cache.connected).toBe(true);
}

test("an invalidation during the database read keeps that (older) value out of the cache", async () => {
  await ready();
  let db = "v1";
  const load = async () => {
    const read = db; // the read sees v1 …
    db = "v2"; // … then v2 commits and its change event invalidates, before the fill
    await cache.invalidate(["user:x"]);
    return read;
  };
  expect(await cache.through("user", "user:x", "", load)).toBe("v1");
  // Not filled: the next read goes to the database and sees v2.
  const next = await cache.lookup("user", "user:x", "", async () => db);
  expect(next).toEqual({ value: "v2", hit: false });
  expect(await cache.lookup("user", "user:x", "", async () => "never")).toEqual({ value: "v2", hit: true });
});

test("the same for one page of a list, and a flush during the read", async () => {
  await ready();
  const page = (v: string) => ({ items: [v], cursor: null });
  const stalePage = await cache.through("workspaces", "wsl:u", "50|", async () => {
    await cache.invalidate(["wsl:u"]);
    return page("old");
  });
  expect(stalePage).toEqual(page("old"));
  expect((await cache.lookup("workspaces", "wsl:u", "50|", async () => page("new"))).hit).toBe(false);
  expect((await cache.lookup("workspaces", "wsl:u", "50|", async () => page("x"))).value).toEqual(page("new"));
  await cache.through("user", "user:y", "", async () => {
    await cache.flush("test");
    return "old";
  });
  expect(await cache.lookup("user", "user:y", "", async () => "new")).toEqual({ value: "new", hit: false });
});

test("an invalidation removes every page of a list; other names are untouched", async () => {
  await ready();
  await cache.through("workspaces", "wsl:z", "1|", async () => "p1");
  await cache.through("workspaces", "wsl:z", "1|c", async () => "p2");
  await cache.through("user", "user:z", "", async () => "u");
  await cache.invalidate(["wsl:z"]);
  expect((await cache.lookup("workspaces", "wsl:z", "1|", async () => "n1")).hit).toBe(false);
  expect((await cache.lookup("workspaces", "wsl:z", "1|c", async () => "n2")).hit).toBe(false);
  expect(await cache.lookup("user", "user:z", "", async () => "other")).toEqual({ value: "u", hit: true });
});
