import postgres from "postgres";
import { SqlState } from "../errors.ts";

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface SqlOptions {
  max?: number;
  application?: string;
  /** Server settings for every connection of the pool (sent at connect), e.g. `plan_cache_mode`. */
  settings?: Record<string, string>;
}

export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 5,
    // Keep the server's idea of time and bigint safe in JS.
    types: { bigint: postgres.BigInt },
    connection: { ...options.settings, application_name: options.application ?? "a4c" },
    onnotice: () => {},
  });
}

/**
 * How a failed database call should be treated:
 * - `unavailable`: the server cannot be reached or is shutting down — wait and retry, never give up;
 * - `transient`: a retry of the same work can succeed (serialization failure, deadlock, timeout);
 * - `permanent`: the data itself is refused (constraint violations, bad input) — retrying is useless.
 */
export type PgErrorClass = "unavailable" | "transient" | "permanent";

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

export function classifyPgError(err: unknown): PgErrorClass {
  const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
  if (CONNECTION_CODES.has(code)) return "unavailable";
  if (code.startsWith("08")) return "unavailable"; // connection exception class
  switch (code) {
    case SqlState.ADMIN_SHUTDOWN:
    case SqlState.CRASH_SHUTDOWN:
    case SqlState.CANNOT_CONNECT_NOW:
    case SqlState.TOO_MANY_CONNECTIONS:
      return "unavailable";
    case SqlState.SERIALIZATION_FAILURE:
    case SqlState.DEADLOCK_DETECTED:
    case SqlState.QUERY_CANCELED:
    case SqlState.LOCK_NOT_AVAILABLE:
      return "transient";
  }
  // Integrity (23), data (22) and syntax/access (42) classes are about the statement itself.
  if (/^(22|23|42)/.test(code)) return "permanent";
  // Unknown errors (including non-PostgreSQL ones) are retried; the give-up rule bounds them.
  return "transient";
}

export function pgErrorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
}
