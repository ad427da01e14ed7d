import { randomBytes } from "node:crypto";
import { sha256Hex } from "./canonical.ts";

/**
 * The aggregates a write can target. Each has its own subject space and its own consumer:
 * users (and tokens), workspaces (and their jobs), hosts, images (builds and schedules).
 */
export const ENTITIES = ["users", "workspaces", "hosts", "images"] as const;
export type Entity = (typeof ENTITIES)[number];

const CODE: Record<Entity, string> = { users: "u", workspaces: "w", hosts: "h", images: "i" };
const ENTITY_BY_CODE: Record<string, Entity> = { u: "users", w: "workspaces", h: "hosts", i: "images" };

/**
 * Scopes an Idempotency-Key to its principal. 96 bits of SHA-256: the stream subject that holds
 * the request, so JetStream itself enforces "one request per key".
 */
export function keyHash(actor: string, idempotencyKey: string): string {
  return sha256Hex(`${actor}\n${idempotencyKey}`).slice(0, 24);
}

export interface OperationRef {
  entity: Entity;
  keyHash: string;
  nonce: string;
}

/**
 * An operation id names where its request waits in the stream (entity + key hash) plus a
 * random nonce that tells apart two requests that reused a key after it expired. So the
 * read side can answer `pending` from the stream alone, with no cache and no database.
 */
export function newOperationId(entity: Entity, hash: string): string {
  return formatOperationId({ entity, keyHash: hash, nonce: randomBytes(6).toString("hex") });
}

export function formatOperationId(ref: OperationRef): string {
  return `op-${CODE[ref.entity]}-${ref.keyHash}-${ref.nonce}`;
}

const OPERATION_ID = /^op-([uwhi])-([0-9a-f]{24})-([0-9a-f]{12})$/;

export function parseOperationId(id: string): OperationRef | null {
  const m = OPERATION_ID.exec(id);
  if (!m) return null;
  const [, code, hash, nonce] = m;
  const entity = code ? ENTITY_BY_CODE[code] : undefined;
  if (!entity || !hash || !nonce) return null;
  return { entity, keyHash: hash, nonce };
}

/** Idempotency-Key: 1–255 printable ASCII characters (RFC draft-ietf-httpapi-idempotency-key). */
export function isValidIdempotencyKey(key: string | null | undefined): key is string {
  return typeof key === "string" && /^[\x20-\x7e]{1,255}$/.test(key) && key.trim().length > 0;
}
