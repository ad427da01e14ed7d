import type { Counter, Logger } from "@a4c/shared";
import Redis from "ioredis";

/**
 * A thin cache in front of PostgreSQL. Every failure is a miss: Redis being down makes reads
 * slower, never wrong and never 5xx.
 */
export class ReadCache {
  readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly errors: Counter<"op">,
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 100, 2_000),
    });
    this.redis.on("error", () => {}); // reported through `errors` at use, and by /ready
  }

  async get<T>(key: string): Promise<T | null> {
    try {
      const raw = await this.redis.get(this.prefix + key);
      return raw ? (JSON.parse(raw) as T) : null;
    } catch (err) {
      this.errors.inc({ op: "get" });
      this.log.debug({ event: "cache.get_failed", err });
      return null;
    }
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.set(this.prefix + key, JSON.stringify(value), "EX", ttlSeconds);
    } catch (err) {
      this.errors.inc({ op: "set" });
      this.log.debug({ event: "cache.set_failed", err });
    }
  }

  get connected(): boolean {
    return this.redis.status === "ready";
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
