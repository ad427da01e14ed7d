/**
 * Issue 4's benchmark: cached reads and change-data lag, beside redis-benchmark in the same run.
 *  - status and entity reads/s and p99 at a 95 % hit ratio (open loop at BENCH_READ_RATE, and the
 *    closed-loop ceiling with wrk), target: cached read p99 < 5 ms at 10,000 reads/s;
 *  - change-data lag (commit → invalidation done in Redis) p50/p99 at 10 and 1,000 writes/s,
 *    target: p99 < 250 ms at 1,000 writes/s. Measured from the outside: the bench commits an
 *    UPDATE and waits for Redis's keyspace notification of that row's generation key.
 *
 * It runs its own services, database, Redis and Debezium (own slot, prefix, stream) on loopback,
 * is bounded in time, and removes all of it at the end, also on failure or Ctrl-C.
 * Knobs: BENCH_READ_RATE (10000), BENCH_READ_SECONDS (8), BENCH_ROWS (20000).
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createSql, migrate } from "@a4c/shared";
import Redis from "ioredis";
import { LOCAL, PORTS, PostgresServer } from "../infra/index.ts";
import { type FeedStack, startFeedStack } from "../test/helpers/feed-stack.ts";
import { metricValue, type OpsTarget } from "../test/helpers/ops.ts";
import { privateRedis } from "../test/helpers/stack.ts";
import { runBounded } from "./lib/bounded.ts";
import { paced } from "./lib/load.ts";
import { type ReadRateResult, readsAtRate, redisBenchmark, wrkReads } from "./lib/reads-load.ts";
import { fmt, percentiles, say } from "./lib/stats.ts";
import { killChildren } from "./lib/tools.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const READ_RATE = env("BENCH_READ_RATE", 10_000);
const READ_SECONDS = env("BENCH_READ_SECONDS", 8);
const ROWS = env("BENCH_ROWS", 20_000);
const HOT = 500;
const LIMIT_MS = 290_000;
const TEMPLATE = process.env.A4C_TEST_TEMPLATE_DB ?? "a4c_test_template";

let fs: FeedStack | null = null;
let redis: Awaited<ReturnType<typeof privateRedis>> | null = null;
const workDir = join(LOCAL, "bench", `reads-${Date.now().toString(36)}`);

async function seed(s: FeedStack["stack"]): Promise<void> {
  // One statement per table; ids derived from the row number so paths can be built without a read.
  await s.sql.unsafe(`
    INSERT INTO users (id, name, email, token_hash)
      SELECT md5('u'||i)::uuid, 'bench '||i, 'b'||i||'@example.com', decode(md5('t'||i)||md5('t'||i), 'hex')
      FROM generate_series(1, ${ROWS}) i;
    INSERT INTO workspace (id, user_id, project_name, image, status)
      SELECT md5('w'||i)::uuid, md5('u'||i)::uuid, 'p'||i, 'a4c/base:latest', 'RUNNING' FROM generate_series(1, ${ROWS}) i;
    INSERT INTO job (id, type, status, step, user_id, workspace_id, operation_id)
      SELECT md5('j'||i)::uuid, 'WORKSPACE_CREATE', 'SUCCEEDED', 'done', md5('u'||i)::uuid, md5('w'||i)::uuid,
             'op-w-'||substr(md5('o'||i),1,24)||'-'||substr(md5('n'||i),1,12) FROM generate_series(1, ${ROWS}) i;
    INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table, entity_id, op_type,
                                  status, job_id, created_at)
      SELECT 'op-w-'||substr(md5('o'||i),1,24)||'-'||substr(md5('n'||i),1,12), md5('u'||i)::uuid::text, 'k'||i, 'f',
             'workspace', md5('w'||i)::uuid, 'workspace.create', 'completed', md5('j'||i)::uuid, now()
      FROM generate_series(1, ${ROWS}) i;`);
}

const uuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
const md5 = (x: string) => new Bun.CryptoHasher("md5").update(x).digest("hex");
const row = (i: number) => ({
  user: uuid(md5(`u${i}`)),
  ws: uuid(md5(`w${i}`)),
  job: uuid(md5(`j${i}`)),
  op: `op-w-${md5(`o${i}`).slice(0, 24)}-${md5(`n${i}`).slice(0, 12)}`,
});

/** 95 % of picks from the warm set, 5 % a row never read before: a 95 % hit ratio by construction. */
function picker(paths: (r: ReturnType<typeof row>, i: number) => string, coldStart: { next: number }) {
  return (i: number) => {
    const cold = Math.random() < 0.05;
    const n = cold ? coldStart.next++ : 1 + Math.floor(Math.random() * HOT);
    return paths(row(1 + ((n - 1) % ROWS)), i);
  };
}

async function hitRatio(svc: OpsTarget, before: { hit: number; miss: number }) {
  const hit = (await metricValue(svc, "a4c_read_cache_lookups_total", { result: "hit" })) - before.hit;
  const miss = (await metricValue(svc, "a4c_read_cache_lookups_total", { result: "miss" })) - before.miss;
  return { hit, miss, ratio: hit / Math.max(1, hit + miss) };
}
const lookups = async (svc: OpsTarget) => ({
  hit: await metricValue(svc, "a4c_read_cache_lookups_total", { result: "hit" }),
  miss: await metricValue(svc, "a4c_read_cache_lookups_total", { result: "miss" }),
});

async function untilCaughtUp(url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = (await (await fetch(`${url}/ready`)).json()) as {
      checks: { cdc: { ok: boolean; detail: { pending: number | null } } };
    };
    if (r.checks.cdc.ok && (r.checks.cdc.detail.pending ?? 0) === 0) return;
    if (Date.now() > deadline) throw new Error("the change feed did not catch up");
    await Bun.sleep(500);
  }
}

/** Commits UPDATEs at `rate`/s and times each until Redis announces that row's invalidation. */
async function lagAt(s: FeedStack["stack"], redisPort: number, rate: number, seconds: number) {
  const sub = new Redis({ host: "127.0.0.1", port: redisPort });
  const committed = new Map<string, number>();
  const lags: number[] = [];
  await sub.psubscribe(`__keyspace@0__:a4c:${s.namespace}:e*:g:user:*`);
  sub.on("pmessage", (_p, channel) => {
    const id = channel.slice(channel.lastIndexOf(":") + 1);
    const at = committed.get(id);
    if (at !== undefined) {
      lags.push(performance.now() - at);
      committed.delete(id);
    }
  });
  const writer = createSql(s.databaseUrl, { max: 16, application: "bench-writer" });
  const total = await paced(rate, seconds, async (k) => {
    const id = row(1 + HOT + (k % (ROWS - HOT))).user;
    await writer`UPDATE users SET name = ${`lag ${rate} ${k}`}, version = version + 1 WHERE id = ${id}`;
    committed.set(id, performance.now());
  });
  const deadline = Date.now() + 15_000;
  while (committed.size > 0 && Date.now() < deadline) await Bun.sleep(50);
  await writer.end({ timeout: 2 });
  sub.disconnect();
  return { sent: total, seen: lags.length, lost: committed.size, ms: percentiles(lags) };
}

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const pg = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
  pg.ensureDatabase(TEMPLATE);
  const migrator = createSql(`postgres://a4c@127.0.0.1:${PORTS.postgres}/${TEMPLATE}`, { max: 1 });
  await migrate(migrator);
  await migrator.end();

  say("starting a private Redis, the services and a private Debezium on a database of the bench's own");
  redis = await privateRedis("bench-reads");
  fs = await startFeedStack("benchreads", { redis, env: { A4C_LOG_LEVEL: "warn" } });
  const s = fs.stack;
  const api = s.readApi.url;
  say(`seeding ${fmt(ROWS)} users, workspaces, jobs and ledger rows`);
  await seed(s);
  await untilCaughtUp(api);

  say("redis-benchmark GET/SET, 50 clients, on the same Redis");
  const rb = await redisBenchmark(redis.port);

  const entityPaths = (r: ReturnType<typeof row>, i: number) =>
    [`/v1/users/${r.user}`, `/v1/workspaces/${r.ws}`, `/v1/jobs/${r.job}`, `/v1/users/${r.user}/workspaces`][
      i % 4
    ] as string;
  const statusPath = (r: ReturnType<typeof row>) => `/status/${r.op}`;
  say(`warming ${HOT} rows`);
  for (let n = 1; n <= HOT; n++) {
    const r = row(n);
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        fetch(api + entityPaths(r, i), { headers: { authorization: `Bearer ${s.adminToken}` } }).then((x) =>
          x.arrayBuffer(),
        ),
      ),
    );
    await fetch(api + statusPath(r), { headers: { authorization: `Bearer ${s.adminToken}` } }).then((x) =>
      x.arrayBuffer(),
    );
  }
  const cold = { next: HOT + 1 };
  const results: Array<ReadRateResult & { label: string; hits: Awaited<ReturnType<typeof hitRatio>> }> = [];
  for (const [label, paths] of [
    ["entity", entityPaths],
    ["status", (r: ReturnType<typeof row>) => statusPath(r)],
  ] as const) {
    const before = await lookups(s.readApi);
    say(`${label} reads at ${fmt(READ_RATE)}/s for ${READ_SECONDS} s (open loop, 95 % hits)`);
    const r = await readsAtRate({
      baseUrl: api,
      token: s.adminToken,
      rate: READ_RATE,
      seconds: READ_SECONDS,
      pick: picker(paths, cold),
    });
    results.push({ label, ...r, hits: await hitRatio(s.readApi, before) });
    await Bun.sleep(1_000);
  }
  const hotPaths = Array.from({ length: 200 }, (_, n) => row(n + 1)).flatMap((r) =>
    [0, 1, 2, 3].map((i) => entityPaths(r, i)),
  );
  say("closed-loop ceiling with wrk (hot rows, 64 connections, 5 s)");
  const ceiling = await wrkReads({
    baseUrl: api,
    token: s.adminToken,
    paths: hotPaths,
    seconds: 5,
    connections: 64,
    workDir,
    label: "hot",
  });

  const cfg = new Redis({ host: "127.0.0.1", port: redis.port });
  await cfg.config("SET", "notify-keyspace-events", "K$");
  cfg.disconnect();
  const lags = [];
  for (const rate of [10, 1_000]) {
    say(`change-data lag at ${fmt(rate)} writes/s for 10 s`);
    await untilCaughtUp(api);
    lags.push({ rate, ...(await lagAt(s, redis.port, rate, 10)) });
  }

  const line = (k: string, v: string, limit = "") => console.log(`  ${k.padEnd(44)} ${v.padEnd(34)} ${limit}`);
  console.log("\n== reads (95 % hit ratio, open loop) ==");
  for (const r of results) {
    line(`${r.label} reads at ${fmt(r.rate)}/s`, `achieved ${fmt(r.achievedPerSec)}/s, ${r.errors} errors`);
    line(
      `  latency p50 / p99 (from due time)`,
      `${fmt(r.latencyMs.p50, 2)} / ${fmt(r.latencyMs.p99, 2)} ms`,
      `target p99 < 5 ms`,
    );
    line(`  generator lateness p99`, `${fmt(r.sendLagMs.p99, 2)} ms`);
    line(
      `  hit ratio (read-api metrics)`,
      `${(r.hits.ratio * 100).toFixed(1)} % (${fmt(r.hits.hit)} hits, ${fmt(r.hits.miss)} misses)`,
    );
  }
  line(
    "entity reads ceiling (wrk, closed loop)",
    `${fmt(ceiling.perSec)}/s, p50 ${fmt(ceiling.p50Ms, 2)} ms, p99 ${fmt(ceiling.p99Ms, 2)} ms, non-200 ${ceiling.non200}`,
  );
  for (const b of rb)
    line(
      `redis-benchmark ${b.test} (50 clients)`,
      `${fmt(b.perSec)}/s, p50 ${b.p50Ms} ms, p99 ${b.p99Ms} ms`,
      "machine limit",
    );
  console.log("\n== change-data lag: commit → invalidation in Redis ==");
  for (const l of lags) {
    line(
      `${fmt(l.rate)} writes/s (${l.seen}/${l.sent} seen, ${l.lost} lost)`,
      `p50 ${fmt(l.ms.p50)} ms, p99 ${fmt(l.ms.p99)} ms, max ${fmt(l.ms.max)} ms`,
      l.rate === 1_000 ? "target p99 < 250 ms" : "",
    );
  }
}

await runBounded(
  LIMIT_MS,
  async () => {
    say("cleaning up: services, Debezium slot and stream, database, private Redis");
    await killChildren();
    await fs?.stop().catch((e) => say(`stack cleanup: ${e}`));
    await redis?.stop().catch(() => {});
    if (redis) rmSync(redis.dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  },
  main,
);
