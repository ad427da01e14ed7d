/**
 * The job search request (ARCHITECTURE §4, `GET /v1/jobs`): the `q` filter syntax and the `from`,
 * `to`, `sort`, `cursor`, `limit` parameters, parsed into a structured query. Pure: nothing here
 * touches a backend, and nothing of `q` ever reaches one as query text — only as typed values.
 *
 *   q       := term (ws+ term)*           terms are ANDed; `a OR b` joins neighbours into one clause
 *   term    := "-"? (field ":" value | phrase | word)
 *   field   := status | type | project | owner | host | repository | image
 *   value   := phrase | word               owner: `me` or a user id
 *   phrase  := '"' (char | '\"' | '\\')* '"'
 */
import {
  decodeCursor,
  HttpProblem,
  JOB_STATUSES,
  type JobSearchSpec,
  type JobSearchTerm,
  type JobStatus,
  type JobType,
  type Principal,
  parseInstant,
  problems,
  REPOSITORY_PATTERN,
  UUID_PATTERN,
  unsafeTextReason,
} from "@a4c/shared";

export const MAX_QUERY_LENGTH = 1_000;
export const MAX_TERMS = 20;
export const MAX_VALUE_LENGTH = 256;
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

const JOB_TYPES: readonly JobType[] = ["WORKSPACE_CREATE", "WORKSPACE_DELETE", "IMAGE_BUILD"];
const FIELDS = ["status", "type", "project", "owner", "host", "repository", "image"] as const;
const REPOSITORY = new RegExp(REPOSITORY_PATTERN);
/** An image reference as a workspace may name one (the gateway's rule) or a build's tag. */
const IMAGE_REF = /^[A-Za-z0-9._/:@-]+$/;
type Field = (typeof FIELDS)[number];

/** A term as written; `owner:me` is resolved against the caller later (toSpec). */
export type QueryTerm =
  | Exclude<JobSearchTerm, { field: "owner" }>
  | { field: "owner"; value: string; negated: boolean };

export interface JobQuery {
  /** AND of clauses; each clause is an OR of terms. */
  clauses: QueryTerm[][];
  from: Date | null;
  to: Date | null;
  order: "asc" | "desc";
  after: { createdAt: string; id: string } | null;
  limit: number;
}

export interface JobQueryParams {
  q?: string | null;
  from?: string | null;
  to?: string | null;
  sort?: string | null;
  cursor?: string | null;
  limit?: string | null;
}

const WHITESPACE = /[ \t\r\n]/;
// Control characters (PostgreSQL refuses NUL in text) and lone surrogates (not valid UTF-8).
const FORBIDDEN = /(?![\t\n\r])\p{Cc}|[\ud800-\udfff]/u;
const HAS_WORD = /[\p{L}\p{N}]/u;

const bad = (detail: string) => problems.badRequest(detail);

type Token = { kind: "or" } | { kind: "term"; term: QueryTerm };

/** Splits `q` into terms and OR markers, validating each term. */
function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  /** Reads a quoted string starting at the opening quote; returns its content. */
  const quoted = (): string => {
    let out = "";
    i++;
    for (;;) {
      if (i >= q.length) throw bad("unterminated quote in q");
      const c = q[i] as string;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === "\\") {
        const next = q[i + 1];
        if (next !== '"' && next !== "\\") throw bad('in quotes, a backslash may only escape " or \\');
        out += next;
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
  };
  const bare = (): string => {
    const start = i;
    while (i < q.length && !WHITESPACE.test(q[i] as string)) {
      if (q[i] === '"') throw bad("a quote may only start a phrase or a value");
      i++;
    }
    return q.slice(start, i);
  };
  while (i < q.length) {
    if (WHITESPACE.test(q[i] as string)) {
      i++;
      continue;
    }
    let negated = false;
    if (q[i] === "-") {
      negated = true;
      i++;
      if (i >= q.length || WHITESPACE.test(q[i] as string)) throw bad("a - must be followed by a term");
    }
    if (q[i] === '"') {
      const phrase = quoted();
      if (i < q.length && !WHITESPACE.test(q[i] as string)) throw bad("a phrase must be followed by a space");
      tokens.push({ kind: "term", term: textTerm(phrase, true, negated) });
    } else {
      const start = i;
      while (i < q.length && /[A-Za-z_]/.test(q[i] as string)) i++;
      if (q[i] === ":" && i > start) {
        const name = q.slice(start, i);
        i++;
        if (i >= q.length || WHITESPACE.test(q[i] as string)) throw bad(`${name}: needs a value`);
        const value = q[i] === '"' ? quoted() : bare();
        if (i < q.length && !WHITESPACE.test(q[i] as string)) throw bad(`unexpected text after ${name}:"…"`);
        tokens.push({ kind: "term", term: fieldTerm(name, value, negated) });
      } else {
        i = start;
        const word = bare();
        if (word === "OR" && !negated) tokens.push({ kind: "or" });
        else tokens.push({ kind: "term", term: textTerm(word, false, negated) });
      }
    }
    if (tokens.length > MAX_TERMS * 2) throw bad(`q may hold at most ${MAX_TERMS} terms`);
  }
  return tokens;
}

function textTerm(value: string, phrase: boolean, negated: boolean): QueryTerm {
  if (value.length > MAX_VALUE_LENGTH) throw bad(`a search text may be at most ${MAX_VALUE_LENGTH} characters`);
  if (!HAS_WORD.test(value)) throw bad("a search text needs at least one letter or digit");
  return { field: "text", value, phrase, negated };
}

function isField(name: string): name is Field {
  return (FIELDS as readonly string[]).includes(name);
}

/** The names people type for the seeds' states (and the names this project used before them). */
const STATUS_ALIASES: Record<string, JobStatus | undefined> = {
  RUNNING: "IN_PROGRESS",
  SUCCEEDED: "COMPLETED",
  CANCELLED: "CANCELED",
};

function fieldTerm(name: string, value: string, negated: boolean): QueryTerm {
  const field = name.toLowerCase();
  if (!isField(field)) throw bad(`unknown field ${JSON.stringify(name)}; known: ${FIELDS.join(", ")}`);
  if (value.length === 0) throw bad(`${field}: needs a value`);
  if (value.length > MAX_VALUE_LENGTH) throw bad(`a ${field} may be at most ${MAX_VALUE_LENGTH} characters`);
  switch (field) {
    case "status": {
      const upper = value.toUpperCase();
      const status = JOB_STATUSES.find((s) => s === upper) ?? STATUS_ALIASES[upper];
      if (!status) throw bad(`unknown status; known: ${JOB_STATUSES.join(", ").toLowerCase()}`);
      return { field, value: status as JobStatus, negated };
    }
    case "type": {
      const type = JOB_TYPES.find((t) => t === value.toUpperCase());
      if (!type) throw bad(`unknown type; known: ${JOB_TYPES.join(", ").toLowerCase()}`);
      return { field, value: type, negated };
    }
    case "project":
      return { field, value, negated };
    case "host":
      if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(value)) throw bad("host must be a host name");
      return { field, value: value.toLowerCase(), negated };
    case "owner": {
      const owner = value.toLowerCase();
      if (owner !== "me" && !UUID_PATTERN.test(owner)) throw bad("owner must be me or a user id");
      return { field, value: owner, negated };
    }
    case "repository": {
      // Repositories are lowercase (Docker's rule), so any case finds them.
      const repository = value.toLowerCase();
      if (!REPOSITORY.test(repository)) throw bad("repository must be a repository name, e.g. team/app");
      return { field, value: repository, negated };
    }
    case "image":
      if (!IMAGE_REF.test(value)) throw bad("image must be an image reference, e.g. a4c/team/app:<commit>");
      return { field, value, negated };
  }
}

/** Terms into AND-of-OR clauses: `a OR b c` is (a ∨ b) ∧ c. */
function clauses(tokens: Token[]): QueryTerm[][] {
  const out: QueryTerm[][] = [];
  let joinNext = false;
  for (const [n, t] of tokens.entries()) {
    if (t.kind === "or") {
      if (n === 0 || n === tokens.length - 1 || joinNext) throw bad("OR must stand between two terms");
      joinNext = true;
      continue;
    }
    const last = out.at(-1);
    if (joinNext && last) last.push(t.term);
    else out.push([t.term]);
    joinNext = false;
  }
  if (out.flat().length > MAX_TERMS) throw bad(`q may hold at most ${MAX_TERMS} terms`);
  return out;
}

export function parseQ(q: string): QueryTerm[][] {
  if (q.length > MAX_QUERY_LENGTH) throw bad(`q may be at most ${MAX_QUERY_LENGTH} characters`);
  if (FORBIDDEN.test(q)) throw bad("q holds a control character or invalid unicode");
  return clauses(tokenize(q));
}

export function parseSort(raw: string): "asc" | "desc" {
  switch (raw) {
    case "createdAt:desc":
    case "-createdAt":
      return "desc";
    case "createdAt:asc":
    case "createdAt":
      return "asc";
    default:
      throw bad("sort must be createdAt:desc (the default) or createdAt:asc");
  }
}

function parseLimit(raw: string): number {
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw bad(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  return n;
}

const given = (v: string | null | undefined): v is string => v !== undefined && v !== null && v !== "";

/** The whole request. @throws HttpProblem 400 for anything malformed. */
export function parseJobQuery(p: JobQueryParams): JobQuery {
  for (const [name, value] of Object.entries(p)) {
    const unsafe = typeof value === "string" ? unsafeTextReason(value) : null;
    if (unsafe) throw bad(`${name} ${unsafe}`);
  }
  const from = given(p.from) ? parseInstant(p.from, "from") : null;
  const to = given(p.to) ? parseInstant(p.to, "to") : null;
  if (from && to && from.getTime() >= to.getTime()) throw bad("from must be before to");
  return {
    clauses: given(p.q) ? parseQ(p.q) : [],
    from,
    to,
    order: given(p.sort) ? parseSort(p.sort) : "desc",
    after: given(p.cursor) ? decodeCursor(p.cursor) : null,
    limit: given(p.limit) ? parseLimit(p.limit) : DEFAULT_LIMIT,
  };
}

/**
 * Decides ownership once, for every backend: a user's search is confined to its own jobs whatever
 * `q` says (owner:<someone else> then simply matches nothing); `me` is the caller.
 */
export function toSpec(query: JobQuery, principal: Principal): JobSearchSpec {
  // The route refuses CI tokens first; this keeps one from ever searching as if it were the admin.
  if (principal.kind === "ci") throw problems.forbidden("a CI token may not search jobs");
  const resolve = (t: QueryTerm): JobSearchTerm => {
    if (t.field !== "owner" || t.value !== "me") return t as JobSearchTerm;
    if (principal.kind !== "user") throw bad("owner:me needs a user's token; the admin owns no jobs");
    return { ...t, value: principal.userId };
  };
  return {
    clauses: query.clauses.map((c) => c.map(resolve)),
    ownerId: principal.kind === "user" ? principal.userId : null,
    from: query.from,
    to: query.to,
    order: query.order,
    after: query.after,
    limit: query.limit,
  };
}

export const isBadRequest = (err: unknown): boolean => err instanceof HttpProblem && err.status === 400;
