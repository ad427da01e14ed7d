/**
 * Opaque keyset cursors: the sort key of a page's last item, `[createdAt, id]` as base64url JSON.
 * A cursor comes back from the client, so decoding accepts only what PostgreSQL and Elasticsearch
 * will take: a real calendar instant (no 30 February, no year 0) and a canonical lowercase UUID.
 */
import { problems } from "./errors.ts";
import { isExactInstant } from "./instant.ts";

export interface CursorKey {
  /** ISO-8601 UTC, µs precision from PostgreSQL, ms from Elasticsearch. */
  createdAt: string;
  id: string;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CURSOR_CHARS = 200;

export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

/** @throws HttpProblem 400 for anything but a cursor this service could have written. */
export function decodeCursor(raw: string): CursorKey {
  let parsed: unknown = null;
  if (raw.length <= MAX_CURSOR_CHARS && /^[A-Za-z0-9_-]+$/.test(raw)) {
    try {
      parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    } catch {
      parsed = null;
    }
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === "string" &&
    typeof parsed[1] === "string" &&
    isExactInstant(parsed[0]) &&
    UUID_PATTERN.test(parsed[1])
  ) {
    return { createdAt: parsed[0], id: parsed[1] };
  }
  throw problems.badRequest("invalid cursor: pass back the cursor of the previous page unchanged");
}
