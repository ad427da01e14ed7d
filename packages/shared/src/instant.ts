/**
 * Instants that come from clients. Bun's Date.parse rolls 30 February over to 2 March and takes
 * year 0, which PostgreSQL then refuses: every instant a client gives is checked on the calendar
 * first, within the years PostgreSQL and Elasticsearch both store.
 */
import { problems } from "./errors.ts";

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?Z$/;

/** True for `YYYY-MM-DDThh:mm:ss[.ffffff]Z` naming a real instant in years 1–9999. */
export function isExactInstant(s: string): boolean {
  const m = INSTANT.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  // Day 0 of the next month is the last day of this one (UTC, so no time zone moves it).
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return day <= date.getUTCDate();
}

const DATE = /^\d{4}-\d{2}-\d{2}(T(\d{2}:\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-](?:0\d|1[0-4]):[0-5]\d))?$/;
/** Instants PostgreSQL and Elasticsearch both store: years 1 to 9999. */
const MIN_INSTANT_MS = Date.parse("0001-01-01T00:00:00Z");
const MAX_INSTANT_MS = Date.parse("9999-12-31T23:59:59.999Z");

/**
 * A time a client passes as a parameter: a date (UTC midnight) or a date-time with a zone, in
 * years 1 to 9999 and on the calendar. @throws HttpProblem 400 naming the parameter.
 */
export function parseInstant(raw: string, name: string): Date {
  const m = DATE.exec(raw);
  // Bun's Date.parse rolls 30 February over to March and takes year 0: check the calendar first.
  const wallClock = m ? `${raw.slice(0, 10)}T${m[2] ?? "00:00"}:${m[3] ?? "00"}Z` : "";
  const ms = m && isExactInstant(wallClock) ? Date.parse(raw.length === 10 ? `${raw}T00:00:00Z` : raw) : Number.NaN;
  if (Number.isNaN(ms) || ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS)
    throw problems.badRequest(`${name} must be an ISO-8601 date or date-time with a zone, e.g. 2026-01-31T12:00:00Z`);
  return new Date(ms);
}
