import type { Logger } from "@a4c/shared";
import Redis from "ioredis";
import type { ReadMetrics } from "./metrics.ts";

/**
 * Every key lives under `<base>e<epoch>:`; a flush moves the epoch on, so one INCR retires the
 * whole cache and old keys expire on their own. Each cached name has a generation key beside it
 * (`…:g:<name>`): an invalidation sets it to a fresh number from a global counter and deletes the
 * value. A miss reads epoch and generation, PostgreSQL is read, and the fill only lands if both
 * are unchanged — so a read that raced an invalidation never puts an older version back.
 * Scripts compose keys themselves (one Redis node, not Cluster), which keeps each step atomic.
 */
const READ = `
local e = redis.call('GET', ARGV[1]..'epoch') or '0'
local k = ARGV[1]..'e'..e..':'..ARGV[2]
local v
if ARGV[3] == '' then v = redis.call('GET', k) else v = redis.call('HGET', k, ARGV[3]) end
if v then return {e, '', v} end
return {e, redis.call('GET', ARGV[1]..'e'..e..':g:'..ARGV[2]) or '0'}`;

const FILL = `
local e = redis.call('GET', ARGV[1]..'epoch') or '0'
if e ~= ARGV[4] then return 0 end
if (redis.call('GET', ARGV[1]..'e'..e..':g:'..ARGV[2]) or '0') ~= ARGV[5] then return 0 end
local k = ARGV[1]..'e'..e..':'..ARGV[2]
if ARGV[3] == '' then
  redis.call('SET', k, ARGV[6], 'EX', ARGV[7])
else
  if redis.call('HLEN', k) >= 1000 then return 0 end
  redis.call('HSET', k, ARGV[3], ARGV[6])
  redis.call('EXPIRE', k, ARGV[7])
end
return 1`;

const INVALIDATE = `
local e = redis.call('GET', ARGV[1]..'epoch') or '0'
for i = 3, #ARGV do
  local s = redis.call('INCR', ARGV[1]..'seq')
  redis.call('SET', ARGV[1]..'e'..e..':g:'..ARGV[i], s, 'EX', ARGV[2])
  redis.call('DEL', ARGV[1]..'e'..e..':'..ARGV[i])
end
return #ARGV - 2`;

type Kind = "user" | "workspace" | "workspaces" | "job" | "status";

export interface CacheOptions {
  /** Longest life of a cached value even if no change ever invalidates it (seconds). */
  ttlSeconds: number;
  /**
   * Whether values may be served and filled now: false while the invalidation feed cannot vouch
   * for them (disabled, detached, or lagging beyond its bound). Reads then go to PostgreSQL.
   */
  usable: () => boolean;
}

/**
 * Cache-aside in front of PostgreSQL. Every Redis failure is a miss served from PostgreSQL and
 * counted: Redis being down makes reads slower, never wrong and never 5xx.
 */
export class ReadCache {
  readonly redis: Redis;
  readonly #base: string;
  #everReady = false;
  /** An invalidation could not be applied: the cache must be flushed before it is trusted again. */
  #flushOwed = false;
  readonly #retry: ReturnType<typeof setInterval>;

  constructor(
    url: string,
    namespace: string,
    private readonly log: Logger,
    private readonly metrics: ReadMetrics,
    private readonly opts: CacheOptions,
  ) {
    this.#base = `a4c:${namespace}:`;
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 100, 1_000),
    });
    this.redis.on("error", () => {}); // reported through metrics at use, and by /ready
    this.redis.on("ready", () => void this.#onReady());
    this.redis.defineCommand("a4cRead", { numberOfKeys: 0, lua: READ });
    this.redis.defineCommand("a4cFill", { numberOfKeys: 0, lua: FILL });
    this.redis.defineCommand("a4cInvalidate", { numberOfKeys: 0, lua: INVALIDATE });
    // A flush Redis did not take (timeout, pause) is retried even if no change or reconnect comes.
    this.#retry = setInterval(() => {
      if (this.#flushOwed && this.connected) void this.flush("owed");
    }, 1_000);
    this.#retry.unref?.();
  }

  /**
   * While this process could not reach Redis, its invalidations were lost (and a restarted Redis
   * may have been filled by others meanwhile): what is cached cannot be proven fresh.
   */
  async #onReady(): Promise<void> {
    if (!this.#everReady && !this.#flushOwed) {
      this.#everReady = true;
      return;
    }
    this.#everReady = true;
    await this.flush("redis_reconnect");
  }

  get connected(): boolean {
    return this.redis.status === "ready";
  }

  /** The cached value of `name` (and `field` of a list), else `load()` from PostgreSQL, filled safely. */
  async through<T>(kind: Kind, name: string, field: string, load: () => Promise<T | null>): Promise<T | null> {
    return (await this.lookup(kind, name, field, load)).value;
  }

  async lookup<T>(
    kind: Kind,
    name: string,
    field: string,
    load: () => Promise<T | null>,
  ): Promise<{ value: T | null; hit: boolean }> {
    const miss = async () => ({ value: await load(), hit: false });
    if (!this.opts.usable() || this.#flushOwed) {
      this.metrics.cacheFallbacks.inc({ reason: "feed_not_live" });
      return miss();
    }
    if (!this.connected) {
      this.metrics.cacheFallbacks.inc({ reason: "redis_down" });
      return miss();
    }
    let seen: [string, string, string?];
    try {
      seen = (await (this.redis as RedisScripts).a4cRead(this.#base, name, field)) as [string, string, string?];
    } catch (err) {
      this.metrics.cacheFallbacks.inc({ reason: "redis_error" });
      this.log.debug({ event: "cache.read_failed", err });
      return miss();
    }
    const [epoch, gen, raw] = seen;
    if (raw !== undefined) {
      this.metrics.cacheLookups.inc({ kind, result: "hit" });
      return { value: JSON.parse(raw) as T, hit: true };
    }
    this.metrics.cacheLookups.inc({ kind, result: "miss" });
    const value = await load();
    if (value !== null) {
      try {
        await (this.redis as RedisScripts).a4cFill(
          this.#base,
          name,
          field,
          epoch,
          gen,
          JSON.stringify(value),
          this.opts.ttlSeconds,
        );
      } catch (err) {
        this.log.debug({ event: "cache.fill_failed", err });
      }
    }
    return { value, hit: false };
  }

  /** Makes these names stale. Throws if Redis cannot be told (the caller then owes a flush). */
  async invalidate(names: string[]): Promise<void> {
    if (names.length === 0) return;
    try {
      // Generations outlive any value they guard (values live at most ttlSeconds).
      await (this.redis as RedisScripts).a4cInvalidate(this.#base, this.opts.ttlSeconds + 120, ...names);
    } catch (err) {
      this.owesFlush();
      throw err;
    }
  }

  /** Something was missed: serve from PostgreSQL until a flush has gone through. */
  owesFlush(): void {
    this.#flushOwed = true;
  }

  /** Retires every cached value at once (new epoch). Returns whether Redis took it. */
  async flush(reason: string): Promise<boolean> {
    this.#flushOwed = true;
    try {
      const epoch = await this.redis.incr(`${this.#base}epoch`);
      this.#flushOwed = false;
      this.metrics.cacheFlushes.inc({ reason });
      this.log.info({ event: "cache.flushed", reason, epoch });
      return true;
    } catch (err) {
      this.log.warn({ event: "cache.flush_failed", reason, err });
      return false;
    }
  }

  get flushOwed(): boolean {
    return this.#flushOwed;
  }

  async close(): Promise<void> {
    clearInterval(this.#retry);
    this.redis.disconnect();
  }
}

type Script = (...args: Array<string | number>) => Promise<unknown>;
type RedisScripts = Redis & { a4cRead: Script; a4cFill: Script; a4cInvalidate: Script };
