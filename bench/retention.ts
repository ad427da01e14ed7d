/**
 * The retention purge under writes: how fast `purgeOperations` removes expired ledger rows (in
 * batches of 5,000, one short statement each) and what it does to writes running beside it.
 *  - limit: ledger inserts/s and their latency with no purge (this machine's PostgreSQL, the same
 *    INSERT the processor makes, 4 writers);
 *  - the same writers while the purge removes BENCH_ROWS expired rows: insert p50/p99/max, and the
 *    purge's rows/s.
 * A blocking purge would show as inserts stalling for the whole purge; batched, they wait at most
 * one batch. Its own database, removed at the end. Knobs: BENCH_ROWS (300000), BENCH_WRITERS (4).
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createSql, purgeOperations, type Sql } from "@a4c/shared";
import { LOCAL, PORTS, PostgresServer } from "../infra/index.ts";
import { runBounded } from "./lib/bounded.ts";
import { fmt, percentiles, say } from "./lib/stats.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 300_000);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 4);
const BASELINE_MS = 5_000;
const TEMPLATE = process.env.A4C_TEST_TEMPLATE_DB ?? "a4c_test_template";
const database = `bench_retention_${Date.now().toString(36)}`;
const pg = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
let sql: Sql | null = null;

/** `WRITERS` loops inserting fresh ledger rows until `stop()`; each insert's latency in ms. */
function writers(db: Sql) {
  const latencies: number[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const id = `op-u-${randomUUID()}`;
      const t = performance.now();
      await db`INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table,
                                             entity_id, op_type, status, created_at)
               VALUES (${id}, 'admin', ${id}, 'fp', 'users', gen_random_uuid(), 'user.create', 'completed', now())`;
      latencies.push(performance.now() - t);
    }
  };
  const started = performance.now();
  const loops = Array.from({ length: WRITERS }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const seconds = (performance.now() - started) / 1000;
      return { rate: latencies.length / seconds, ...percentiles(latencies) };
    },
  };
}

await runBounded(
  300_000,
  async () => {
    await sql?.end({ timeout: 2 });
    pg.psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  },
  async () => {
    pg.ensureDatabase(database, TEMPLATE);
    sql = createSql(`postgres://a4c@127.0.0.1:${PORTS.postgres}/${database}`, { max: WRITERS + 2 });
    say(`seeding ${fmt(ROWS)} ledger rows completed 2 days ago…`);
    await sql`INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table,
                                            entity_id, op_type, status, created_at, completed_at)
              SELECT 'op-u-old-' || g, 'admin', 'old-' || g, 'fp', 'users', gen_random_uuid(), 'user.create',
                     'completed', now() - interval '2 days', now() - interval '2 days'
                FROM generate_series(1, ${ROWS}) g`;
    await sql`VACUUM ANALYZE write_operations`;

    const baseline = writers(sql);
    await Bun.sleep(BASELINE_MS);
    const limit = await baseline.stop();

    const during = writers(sql);
    const t = performance.now();
    const purged = await purgeOperations(sql, 24);
    const purgeMs = performance.now() - t;
    const beside = await during.stop();

    say("");
    say(
      `purge of ${fmt(purged)} expired rows: ${fmt(purgeMs)} ms (${fmt((purged / purgeMs) * 1000)} rows/s, ${Math.ceil(purged / 5000)} batches)`,
    );
    say("| ledger inserts, 4 writers | inserts/s | p50 ms | p99 ms | max ms |");
    say("|---|---|---|---|---|");
    for (const [name, r] of [
      ["limit: no purge", limit],
      ["while the purge runs", beside],
    ] as const) {
      say(`| ${name} | ${fmt(r.rate)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 1)} |`);
    }
  },
);
