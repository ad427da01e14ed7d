import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.ts";
import type { Sql } from "./client.ts";

export const MIGRATIONS_DIR = join(import.meta.dir, "..", "..", "migrations");

/** Arbitrary but fixed: every migrator of every version takes the same advisory lock. */
const MIGRATION_LOCK_ID = 4_404_201;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

/** Reads `NNNN_name.sql` files in order; numbers must be contiguous from 1. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  return files.map((file, index) => {
    const version = Number(file.slice(0, 4));
    if (version !== index + 1) throw new MigrationError(`migration ${file} is out of sequence (expected ${index + 1})`);
    const sql = readFileSync(join(dir, file), "utf8");
    return { version, name: file, sql, checksum: createHash("sha256").update(sql).digest("hex") };
  });
}

/**
 * Applies pending migrations forward-only, in one transaction, under an advisory
 * lock so that concurrent starters apply each migration once. Refuses a database that has
 * migrations this code does not know (a newer schema) or whose applied files were edited.
 */
export async function migrate(sql: Sql, log?: Logger, migrations = loadMigrations()): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`;
    const applied = await tx<{ version: number; name: string; checksum: string }[]>`
      SELECT version, name, checksum FROM schema_migrations ORDER BY version`;
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of applied) {
      const mine = known.get(row.version);
      if (!mine) {
        throw new MigrationError(
          `database is at migration ${row.version} (${row.name}), newer than this code knows; upgrade the code`,
        );
      }
      if (mine.checksum !== row.checksum) {
        throw new MigrationError(`migration ${row.name} was changed after it was applied; add a new migration instead`);
      }
    }
    const done = new Set(applied.map((r) => r.version));
    const newlyApplied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      log?.info({ event: "migration.apply", version: m.version, name: m.name });
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name, checksum) VALUES (${m.version}, ${m.name}, ${m.checksum})`;
      newlyApplied.push(m.version);
    }
    return newlyApplied;
  });
}
