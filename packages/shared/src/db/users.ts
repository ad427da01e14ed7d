import type { Sql, TransactionSql } from "./client.ts";
import { claimOperation, type OperationClaim } from "./operations.ts";

type Db = Sql | TransactionSql;

export interface UserRow {
  id: string;
  name: string;
  email: string;
  version: string;
  created_at: Date;
  updated_at: Date;
}

/**
 * Claims the operation and creates the user in one statement; `claimed` is false when the
 * ledger already holds this operation (or its key), and then nothing was written.
 */
export async function applyUserCreate(
  tx: TransactionSql,
  c: OperationClaim,
  u: { userId: string; name: string; email: string; tokenHash: string },
): Promise<{ claimed: boolean }> {
  const [row] = await tx<{ claimed: number }[]>`
    WITH op AS (
      ${claimOperation(tx, c)}
    ), u AS (
      INSERT INTO users (id, name, email, token_hash)
      SELECT ${u.userId}, ${u.name}, ${u.email}, decode(${u.tokenHash}, 'hex') FROM op
      RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed`;
  return { claimed: (row?.claimed ?? 0) > 0 };
}

export async function getUser(db: Db, id: string): Promise<UserRow | null> {
  const rows = await db<UserRow[]>`
    SELECT id::text, name, email, version::text, created_at, updated_at FROM users WHERE id = ${id}`;
  return rows[0] ?? null;
}

export async function findUserIdByTokenHash(db: Db, tokenHashHex: string): Promise<string | null> {
  const rows = await db<{ id: string }[]>`SELECT id::text FROM users WHERE token_hash = decode(${tokenHashHex}, 'hex')`;
  return rows[0]?.id ?? null;
}
