import type { Sql, TransactionSql } from "./client.ts";
import { claimOperations, type OperationClaim } from "./operations.ts";

type Db = Sql | TransactionSql;

export interface UserRow {
  id: string;
  name: string;
  email: string;
  version: string;
  created_at: Date;
  updated_at: Date;
}

export interface NewUser {
  userId: string;
  name: string;
  email: string;
  tokenHash: string;
}

/**
 * Claims the operations and creates their users in one statement. Returns the ids of the
 * operations claimed now; for the others the ledger already held them and nothing was written.
 */
export async function applyUserCreates(
  tx: TransactionSql,
  items: Array<{ claim: OperationClaim; user: NewUser }>,
): Promise<Set<string>> {
  const col = <T>(f: (i: (typeof items)[number]) => T) => items.map(f);
  const rows = await tx<{ operation_id: string }[]>`
    WITH ${claimOperations(
      tx,
      items.map((i) => i.claim),
    )}, data AS (
      SELECT * FROM unnest(
        ${col((i) => i.claim.operationId)}::text[], ${col((i) => i.user.userId)}::uuid[], ${col((i) => i.user.name)}::text[],
        ${col((i) => i.user.email)}::text[], ${col((i) => i.user.tokenHash)}::text[]
      ) AS d(operation_id, id, name, email, token_hash)
    ), u AS (
      INSERT INTO users (id, name, email, token_hash)
      SELECT d.id, d.name, d.email, decode(d.token_hash, 'hex') FROM data d JOIN op USING (operation_id)
      RETURNING id
    )
    SELECT operation_id FROM op`;
  return new Set(rows.map((r) => r.operation_id));
}

export async function getUser(db: Db, id: string): Promise<UserRow | null> {
  const rows = await db<UserRow[]>`
    SELECT id::text, name, email, version::text, created_at, updated_at FROM users WHERE id = ${id}`;
  return rows[0] ?? null;
}

/** Whose token has this hash: a user's, or a CI token's (api_token). */
export async function findTokenOwner(
  db: Db,
  tokenHashHex: string,
): Promise<{ kind: "user" | "ci"; id: string } | null> {
  const rows = await db<{ kind: "user" | "ci"; id: string }[]>`
    SELECT 'user' AS kind, id::text FROM users WHERE token_hash = decode(${tokenHashHex}, 'hex')
    UNION ALL
    SELECT kind, id::text FROM api_token WHERE token_hash = decode(${tokenHashHex}, 'hex')
    LIMIT 1`;
  return rows[0] ?? null;
}

/** Claims the operation and stores a CI token's hash (the token itself is derived, never stored). */
export async function applyTokenCreate(
  tx: TransactionSql,
  c: OperationClaim,
  t: { tokenId: string; kind: "ci"; name: string; tokenHash: string; createdBy: string },
): Promise<{ claimed: boolean; applied: boolean }> {
  const [row] = await tx<{ claimed: number }[]>`
    WITH ${claimOperations(tx, [c])}, t AS (
      INSERT INTO api_token (id, kind, name, token_hash, created_by)
      SELECT ${t.tokenId}, ${t.kind}, ${t.name}, decode(${t.tokenHash}, 'hex'), ${t.createdBy} FROM op
      RETURNING id
    )
    SELECT (SELECT count(*) FROM op)::int AS claimed`;
  return { claimed: (row?.claimed ?? 0) > 0, applied: true };
}
