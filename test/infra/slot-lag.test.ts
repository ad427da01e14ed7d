/**
 * ARCHITECTURE §6 "replication slot lag is bounded": with the monitored database idle and another
 * database on the same server busy, the launcher's Debezium slots must still advance (their
 * heartbeat writes a logical message into the monitored database's WAL), or WAL piles up.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createSql, type Sql } from "@a4c/shared";
import { LOCAL, PORTS, PostgresServer } from "../../infra/index.ts";

const pg = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
const busy = `slotlag_${randomBytes(4).toString("hex")}`;
let admin: Sql;
let other: Sql;

beforeAll(() => {
  pg.ensureDatabase(busy);
  admin = createSql(`postgres://a4c@127.0.0.1:${PORTS.postgres}/a4c`, { max: 1 });
  other = createSql(`postgres://a4c@127.0.0.1:${PORTS.postgres}/${busy}`, { max: 1 });
});
afterAll(async () => {
  await other.end();
  await admin.end();
  pg.psql(`DROP DATABASE IF EXISTS "${busy}" WITH (FORCE)`);
});

async function slotLagBytes(): Promise<Record<string, number>> {
  const rows = await admin<{ slot_name: string; lag: string }[]>`
    SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS lag
    FROM pg_replication_slots WHERE slot_name IN ('a4c_cdc_nats', 'a4c_cdc_kafka')`;
  return Object.fromEntries(rows.map((r) => [r.slot_name, Number(r.lag)]));
}

test("Debezium's slots advance while only another database writes", async () => {
  expect(Object.keys(await slotLagBytes()).sort()).toEqual(["a4c_cdc_kafka", "a4c_cdc_nats"]);
  // About 30 MB of WAL in a database no slot reads.
  await other`CREATE TABLE filler (id serial PRIMARY KEY, pad text)`;
  await other`INSERT INTO filler (pad) SELECT repeat('x', 1000) FROM generate_series(1, 25000)`;
  const written = Math.max(...Object.values(await slotLagBytes()));
  expect(written).toBeGreaterThan(20 * 1024 * 1024);
  // Heartbeats run every 5 s and offsets flush every second: within 30 s both slots catch up.
  const deadline = Date.now() + 30_000;
  let lag = await slotLagBytes();
  while (Math.max(...Object.values(lag)) > 1024 * 1024 && Date.now() < deadline) {
    await Bun.sleep(500);
    lag = await slotLagBytes();
  }
  expect(Math.max(...Object.values(lag))).toBeLessThan(1024 * 1024);
});
