/**
 * Backups: `just backup` / `bash infra/a4c.sh backup` write PostgreSQL (the source of truth) to a
 * file while it serves; `restore` puts one into a new database (never over one); the search index
 * is rebuilt from the restored database by es-sync's reindex. Run as a person would, as processes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createSql, type Sql } from "@a4c/shared";
import { PostgresServer, postgresBinDir } from "../../infra/index.ts";
import { LOCAL, PORTS, ROOT } from "../../infra/lib/paths.ts";
import { insertJobs, owner, reindexAndWait, type SearchEnv, startSearchEnv } from "../helpers/search.ts";

let env: SearchEnv;
let restored: Sql | null = null;
const dir = join(LOCAL, "test", `backup-${crypto.randomUUID().slice(0, 8)}`);
const target = `restored_${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}`;
const pg = () => new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  env = await startSearchEnv("backup");
}, 180_000);

afterAll(async () => {
  await restored?.end({ timeout: 2 }).catch(() => {});
  pg().psql(`DROP DATABASE IF EXISTS "${target}" WITH (FORCE)`);
  await env?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a command from the checkout as a person would; its exit code and output. */
async function sh(cmd: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, out: out + err };
}

/** What a restore must bring back: each table's rows, summed into one fingerprint per table. */
async function fingerprint(sql: Sql) {
  return sql<{ t: string; n: number; h: string | null }[]>`
    SELECT 'users' AS t, count(*)::int AS n, md5(string_agg(id::text || name || email, ',' ORDER BY id)) AS h FROM users
    UNION ALL SELECT 'workspace', count(*)::int, md5(string_agg(id::text || status || image, ',' ORDER BY id)) FROM workspace
    UNION ALL SELECT 'job', count(*)::int, md5(string_agg(id::text || status || version, ',' ORDER BY id)) FROM job
    UNION ALL SELECT 'schema_migrations', count(*)::int, md5(string_agg(version::text || checksum, ',' ORDER BY version)) FROM schema_migrations
    ORDER BY t`;
}

test("`npx just backup` writes the running system's database to a file pg_restore reads", async () => {
  const file = join(dir, "launcher.dump");
  const r = await sh(["node_modules/.bin/just", "backup", file]);
  expect({ code: r.code, out: r.out }).toMatchObject({ code: 0 });
  expect(r.out).toContain(`backup of a4c: ${file}`);
  expect(existsSync(file)).toBe(true);
  // A backup pg_restore can read: its table of contents names our tables.
  const list = await sh([join(postgresBinDir() ?? "", "pg_restore"), "--list", file]);
  expect(list.code).toBe(0);
  for (const table of ["users", "workspace", "job", "image", "write_operations"]) {
    expect(list.out).toContain(`TABLE public ${table} `);
  }
}, 120_000);

test("backup while it serves → restore into a new database → the same data → reindex rebuilds search", async () => {
  const o = await owner(env.sql);
  const jobs = await insertJobs(env.sql, o, 250);
  const database = new URL(env.databaseUrl).pathname.slice(1);
  const file = join(dir, "env.dump");
  const backup = await sh(["bash", "infra/a4c.sh", "backup", file, "--database", database]);
  expect(backup.code).toBe(0);

  const r = await sh(["bash", "infra/a4c.sh", "restore", file, target]);
  expect({ code: r.code, out: r.out }).toMatchObject({ code: 0 });
  const url = env.databaseUrl.replace(/\/[^/]+$/, `/${target}`);
  restored = createSql(url, { max: 2, application: "backup-test" });
  expect(await fingerprint(restored)).toEqual(await fingerprint(env.sql));
  // Never over a database that exists.
  const again = await sh(["bash", "infra/a4c.sh", "restore", file, target]);
  expect(again.code).not.toBe(0);
  expect(again.out).toContain(`database ${target} exists`);

  // The search index rebuilt from the restored database alone, under an alias of its own.
  const alias = `${target}_jobs`;
  const esSync = await env.esSync(9, {
    DATABASE_URL: url,
    ES_SYNC_ALIAS: alias,
    ES_SYNC_GROUP: `${env.group}-restored`,
  });
  await esSync.start();
  try {
    await reindexAndWait(esSync);
    await env.es.indices.refresh({ index: alias });
    const { count } = await env.es.count({ index: alias });
    const [{ n } = { n: -1 }] = await restored<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;
    expect(count).toBe(n);
    expect(count).toBeGreaterThanOrEqual(jobs.length);
  } finally {
    await esSync.stop();
    const indices = Object.keys(await env.es.indices.get({ index: `${alias}-*` }).catch(() => ({})));
    if (indices.length > 0) await env.es.indices.delete({ index: indices }).catch(() => {});
  }
}, 240_000);
