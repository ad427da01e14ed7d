/**
 * The PostgreSQL fallback's totals and facets (countJobFacets) on 100,000 jobs: exact when the
 * full count fits the time budget; else exact up to the limit, beyond it a true lower bound with
 * no facets: never a number it did not count.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { countJobFacets, createSql, type JobSearchSpec, type Sql } from "@a4c/shared";
import { LOCAL, PORTS, PostgresServer } from "../../infra/index.ts";
import { seedJobs } from "../helpers/job-seed.ts";

const TEMPLATE = process.env.A4C_TEST_TEMPLATE_DB ?? "a4c_test_template";
const JOBS = 100_000;
const pg = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
const db = `counts_${randomBytes(4).toString("hex")}`;
let sql: Sql;

const spec = (over: Partial<JobSearchSpec> = {}): JobSearchSpec => ({
  clauses: [],
  ownerId: null,
  from: null,
  to: null,
  order: "desc",
  after: null,
  limit: 20,
  ...over,
});
const failed = spec({ clauses: [[{ field: "status", value: "FAILED", negated: false }]] });

async function truth(s: JobSearchSpec) {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM job WHERE ${s === failed ? sql`status = 'FAILED'` : sql`TRUE`}`;
  const types = await sql<{ type: string; n: number }[]>`
    SELECT lower(type) AS type, count(*)::int AS n FROM job
     WHERE ${s === failed ? sql`status = 'FAILED'` : sql`TRUE`} GROUP BY type`;
  return { total: row?.n ?? -1, type: Object.fromEntries(types.map((t) => [t.type, t.n])) };
}

beforeAll(async () => {
  pg.ensureDatabase(db, TEMPLATE);
  sql = createSql(`postgres://a4c@127.0.0.1:${PORTS.postgres}/${db}`, { max: 4 });
  await seedJobs(sql, JOBS);
  await sql`ANALYZE job`;
}, 120_000);

afterAll(async () => {
  await sql?.end();
  pg.psql(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
});

test("up to the limit: exact totals and facets", async () => {
  for (const s of [spec(), failed]) {
    const c = await countJobFacets(sql, s, { fullCountUpTo: 1_000_000, exactUpTo: 1_000_000, budgetMs: 10_000 });
    const t = await truth(s);
    expect(c.totalRelation).toBe("eq");
    expect(c.total).toBe(t.total);
    expect(c.facets.type).toEqual(t.type);
    expect(Object.values(c.facets.status).reduce((a, b) => a + b, 0)).toBe(t.total);
  }
});

test("beyond the limit, within the budget: still exact", async () => {
  const c = await countJobFacets(sql, failed, { fullCountUpTo: 1_000_000, exactUpTo: 1_000, budgetMs: 10_000 });
  const t = await truth(failed);
  expect(t.total).toBeGreaterThan(1_000);
  expect(c).toMatchObject({ total: t.total, totalRelation: "eq" });
  expect(c.facets.type).toEqual(t.type);
});

test("beyond the limit, over the budget: a true lower bound, no facets", async () => {
  // Grouping 100,000 rows takes tens of ms here; 5 ms is not enough (the capped second count of
  // 1,001 rows may or may not fit, and the answer must be true either way).
  const c = await countJobFacets(sql, spec(), { fullCountUpTo: 1_000_000, exactUpTo: 1_000, budgetMs: 5 });
  expect(c.totalRelation).toBe("gte");
  expect([0, 1_000]).toContain(c.total);
  expect(c.facets).toEqual({ status: {}, type: {} });
  // The connection is usable afterwards (the timeout was local to the transaction).
  const [{ timeout } = { timeout: "" }] = await sql<
    { timeout: string }[]
  >`SELECT current_setting('statement_timeout') AS timeout`;
  expect(timeout).toBe("0");
});

test("more matches expected than a full count may take on: not tried, a true lower bound at once", async () => {
  // The budget would allow the full count; the planner's estimate (100,000 rows) says not to.
  const t = performance.now();
  const c = await countJobFacets(sql, spec(), { fullCountUpTo: 50_000, exactUpTo: 1_000, budgetMs: 10_000 });
  expect(c).toEqual({ total: 1_000, totalRelation: "gte", facets: { status: {}, type: {} } });
  // A filter the planner expects to match few rows is still counted in full.
  const few = await countJobFacets(sql, failed, { fullCountUpTo: 50_000, exactUpTo: 1_000, budgetMs: 10_000 });
  expect(few).toMatchObject({ total: (await truth(failed)).total, totalRelation: "eq" });
  expect(performance.now() - t).toBeLessThan(10_000);
});
