import { timingSafeEqual } from "node:crypto";
import { LRUCache } from "lru-cache";
import { classifyPgError, type Sql } from "./db/client.ts";
import { findTokenOwner } from "./db/users.ts";
import { tokenHash } from "./domain/commands.ts";
import { problems, UnavailableError } from "./errors.ts";

/**
 * Who is calling: the admin, a user, or a CI system (a `ci` token, which may request image builds
 * and follow them, and nothing else).
 */
export type Principal = { kind: "admin" } | { kind: "user"; userId: string } | { kind: "ci"; tokenId: string };

export const ADMIN_ACTOR = "admin";

/** The principal as the ledger and the Idempotency-Key scope name it. */
export function actorId(p: Principal): string {
  switch (p.kind) {
    case "admin":
      return ADMIN_ACTOR;
    case "user":
      return p.userId;
    case "ci":
      return `ci:${p.tokenId}`;
  }
}

/** A user may act only for itself; the admin for anyone; a CI token for no user. */
export function mayActFor(p: Principal, userId: string): boolean {
  return p.kind === "admin" || (p.kind === "user" && p.userId === userId);
}

export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header.trim());
  return m?.[1] ?? null;
}

/**
 * Resolves bearer tokens to principals. User and CI tokens are looked up by hash in PostgreSQL and
 * remembered for a while, so callers who were active keep writing through a database outage.
 */
export class Authenticator {
  readonly #admin: Buffer;
  readonly #known = new LRUCache<string, Principal>({ max: 100_000, ttl: 5 * 60_000 });
  readonly #unknown = new LRUCache<string, true>({ max: 100_000, ttl: 5_000 });

  constructor(
    adminToken: string,
    private readonly sql: Sql,
  ) {
    this.#admin = Buffer.from(adminToken);
  }

  /** @throws HttpProblem 401, or UnavailableError when a user token cannot be checked now. */
  async authenticate(authorization: string | null | undefined): Promise<Principal> {
    const token = bearerToken(authorization);
    if (!token) throw problems.unauthorized();
    const given = Buffer.from(token);
    if (given.length === this.#admin.length && timingSafeEqual(given, this.#admin)) return { kind: "admin" };
    const hash = tokenHash(token);
    const cached = this.#known.get(hash);
    if (cached) return cached;
    if (this.#unknown.has(hash)) throw problems.unauthorized();
    let owner: Awaited<ReturnType<typeof findTokenOwner>>;
    try {
      owner = await findTokenOwner(this.sql, hash);
    } catch (err) {
      if (classifyPgError(err) === "permanent") throw err;
      throw new UnavailableError("postgres", { cause: err });
    }
    if (!owner) {
      this.#unknown.set(hash, true);
      throw problems.unauthorized();
    }
    const principal: Principal =
      owner.kind === "user" ? { kind: "user", userId: owner.id } : { kind: "ci", tokenId: owner.id };
    this.#known.set(hash, principal);
    return principal;
  }
}
