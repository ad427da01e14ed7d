/**
 * A test stack whose read-api invalidates its cache from a private Debezium on the stack's own
 * database: the stack starts without the read-api, then Debezium (which creates the stream), then
 * the read-api, then waits until a change written in SQL comes back through the feed.
 */
import { join } from "node:path";
import { LOCAL, PORTS, PostgresServer, type RedisServer } from "../../infra/index.ts";
import { type PrivateFeed, privateFeedNames, startPrivateFeed } from "./cdc.ts";
import { metricValue } from "./ops.ts";
import { startStack, type TestStack } from "./stack.ts";

export interface FeedStack {
  stack: TestStack;
  feed: PrivateFeed;
  database: string;
  stop(): Promise<void>;
}

export async function startFeedStack(
  label: string,
  opts: { redis?: RedisServer; env?: Record<string, string> } = {},
): Promise<FeedStack> {
  const names = privateFeedNames(label);
  const stack = await startStack(label, {
    services: ["write-processor", "write-gateway"],
    cdc: { stream: names.stream, prefix: names.prefix },
    redis: opts.redis,
    env: opts.env,
  });
  const database = stack.databaseUrl.split("/").pop() as string;
  let feed: PrivateFeed | null = null;
  try {
    feed = await startPrivateFeed(names, database, stack.natsUrl);
    await stack.readApi.start(120_000);
    await untilInvalidating(stack);
  } catch (err) {
    await stack.stop();
    await feed?.remove();
    dropDatabase(database);
    throw err;
  }
  const started = feed;
  return {
    stack,
    feed: started,
    database,
    async stop() {
      await stack.stop();
      await started.remove();
      // The slot is gone, so nothing holds the database any more.
      new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres).psql(
        `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`,
      );
    },
  };
}

/** After the slot is gone nothing holds the database: the stack's clone goes too. */
function dropDatabase(database: string): void {
  new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres).psql(
    `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`,
  );
}

/** Writes a throwaway row until the read-api has invalidated something for it (≤ 120 s). */
export async function untilInvalidating(stack: TestStack, timeoutMs = 120_000): Promise<void> {
  const before = await metricValue(stack.readApi, "a4c_cdc_events_total", { result: "invalidated" });
  const id = crypto.randomUUID();
  await stack.sql`INSERT INTO users (id, name, email, token_hash)
                  VALUES (${id}, 'warm-up', ${`${id}@example.com`}, ${Buffer.from(crypto.getRandomValues(new Uint8Array(32)))})`;
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if ((await metricValue(stack.readApi, "a4c_cdc_events_total", { result: "invalidated" })) > before) return;
    if (Date.now() > deadline) throw new Error(`no change event reached the read-api within ${timeoutMs} ms`);
    await stack.sql`UPDATE users SET name = ${`warm-up ${i}`}, version = version + 1 WHERE id = ${id}`;
    await Bun.sleep(250);
  }
}

/** Repeats `read` until `done(value)` or `timeoutMs`; returns the value and how long it took. */
export async function until<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
): Promise<{ value: T; ms: number; ok: boolean }> {
  const started = performance.now();
  for (;;) {
    const value = await read();
    const ms = performance.now() - started;
    if (done(value)) return { value, ms, ok: true };
    if (ms > timeoutMs) return { value, ms, ok: false };
    await Bun.sleep(10);
  }
}
