/** The migration runner: forward only, once under concurrency, and refusing what it must refuse. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createSql, loadMigrations, MigrationError, migrate, type Sql } from "@a4c/shared";
import { LOCAL, PORTS, PostgresServer } from "../../infra/index.ts";

const pg = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
const db = `migrations_${randomBytes(4).toString("hex")}`;
let sql: Sql;

beforeAll(() => {
  pg.ensureDatabase(db);
  sql = createSql(`postgres://a4c@127.0.0.1:${PORTS.postgres}/${db}`, { max: 8 });
});
afterAll(async () => {
  await sql.end();
  pg.psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
});

test("concurrent migrators apply every migration exactly once", async () => {
  const results = await Promise.all(Array.from({ length: 4 }, () => migrate(sql)));
  const applied = results.flat().sort((a, b) => a - b);
  expect(applied).toEqual(loadMigrations().map((m) => m.version));
  const rows = await sql`SELECT version FROM schema_migrations ORDER BY version`;
  expect(rows.map((r) => r.version)).toEqual(applied);
  expect(await migrate(sql)).toEqual([]);
});

test("a database newer than the code is refused", async () => {
  const known = loadMigrations();
  await expect(migrate(sql, undefined, known.slice(0, -1))).rejects.toBeInstanceOf(MigrationError);
});

test("an applied migration that was edited is refused", async () => {
  const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m));
  await expect(migrate(sql, undefined, edited)).rejects.toThrow(/changed after it was applied/);
});
