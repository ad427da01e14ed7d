/**
 * SQL of job search on PostgreSQL: the fallback read-api answers from when Elasticsearch is not
 * available. The filters arrive as a structured spec (never as query text) and every value is a
 * bound parameter; only fixed SQL fragments are composed. Indexes: migrations/0006.
 */

import type postgres from "postgres";
import type { JobStatus, JobType } from "../domain/states.ts";
import type { Sql, TransactionSql } from "./client.ts";
import type { SearchSyncRow } from "./search-sync.ts";

/** One filter term; `negated` inverts it. */
export type JobSearchTerm =
  | { field: "status"; value: JobStatus; negated: boolean }
  | { field: "type"; value: JobType; negated: boolean }
  | { field: "project"; value: string; negated: boolean }
  /** The owner's user id. */
  | { field: "owner"; value: string; negated: boolean }
  /** The name of the host the job runs (or ran) on. */
  | { field: "host"; value: string; negated: boolean }
  /** The repository an image build builds. */
  | { field: "repository"; value: string; negated: boolean }
  /** The image a workspace's job runs, or the tag an image build makes (exactly). */
  | { field: "image"; value: string; negated: boolean }
  /** Words (all of them) or a phrase in the error message. */
  | { field: "text"; value: string; phrase: boolean; negated: boolean };

/** A search with its ownership already decided: what both backends execute. */
export interface JobSearchSpec {
  /** All clauses must hold; a clause holds when any of its terms does. */
  clauses: JobSearchTerm[][];
  /** Only this user's jobs (a user's search); null for the admin. */
  ownerId: string | null;
  /** createdAt ≥ from and < to. */
  from: Date | null;
  to: Date | null;
  order: "asc" | "desc";
  /** Keyset: the sort key of the last item of the previous page. */
  after: { createdAt: string; id: string } | null;
  limit: number;
}

/** A search-document row (see search-sync.ts) with typed status and type, and its cursor key. */
export interface JobSearchRow extends Omit<SearchSyncRow, "type" | "status"> {
  type: JobType;
  status: JobStatus;
  /** created_at in UTC with microseconds: a keyset cursor that neither skips nor repeats rows. */
  cursor_at: string;
}

export interface JobSearchFacets {
  status: Record<string, number>;
  type: Record<string, number>;
}

/**
 * Words as Elasticsearch's standard analyzer would split them ("host-3" → "host 3"), so a word
 * matches the same messages on both backends; `simple` lowercases like the analyzer does.
 */
export function searchWords(text: string): string {
  return text
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== "")
    .join(" ");
}

type Fragment = postgres.Fragment;

function joined(sql: Sql, parts: Fragment[], op: "AND" | "OR"): Fragment {
  const sep = op === "AND" ? sql` AND ` : sql` OR `;
  return parts.reduce((acc, part) => sql`${acc}${sep}${part}`);
}

function termSql(sql: Sql, t: JobSearchTerm): Fragment {
  let p: Fragment;
  // No term is ever NULL (project, repository, image: IS DISTINCT FROM; words: coalesce), so a
  // negation keeps rows without a value, as Elasticsearch's must_not does.
  switch (t.field) {
    case "status":
      p = sql`j.status = ${t.value}`;
      break;
    case "type":
      p = sql`j.type = ${t.value}`;
      break;
    case "project":
      // `=` lets the planner start from the workspace_project_name index (IS NOT DISTINCT FROM
      // cannot use an index); the negation keeps jobs without a workspace.
      return t.negated ? sql`(w.project_name IS DISTINCT FROM ${t.value})` : sql`(w.project_name = ${t.value})`;
    case "owner":
      p = sql`j.user_id = ${t.value}::uuid`;
      break;
    case "host":
      // Hosts are few: the name becomes an id once, and the negation keeps jobs with no host.
      return t.negated
        ? sql`(j.host_id IS DISTINCT FROM (SELECT h.id FROM hosts h WHERE h.name = ${t.value.toLowerCase()}))`
        : sql`(j.host_id = (SELECT h.id FROM hosts h WHERE h.name = ${t.value.toLowerCase()}))`;
    case "repository":
      // The negation keeps jobs that build nothing, as Elasticsearch's must_not does.
      return t.negated ? sql`(i.repository IS DISTINCT FROM ${t.value})` : sql`(i.repository = ${t.value})`;
    case "image":
      // The search document's `image`: the workspace's image, or the build's tag (search-sync.ts).
      return t.negated
        ? sql`(coalesce(w.image, i.tag) IS DISTINCT FROM ${t.value})`
        : sql`(coalesce(w.image, i.tag) = ${t.value})`;
    case "text": {
      const words = searchWords(t.value);
      p = t.phrase
        ? sql`j.error_words @@ phraseto_tsquery('simple'::regconfig, ${words})`
        : sql`j.error_words @@ plainto_tsquery('simple'::regconfig, ${words})`;
      break;
    }
  }
  return t.negated ? sql`NOT (${p})` : sql`(${p})`;
}

/** The filters without the keyset: what the total and the facets count. */
function filterSql(sql: Sql, spec: JobSearchSpec): Fragment {
  const parts: Fragment[] = [sql`TRUE`];
  if (spec.ownerId !== null) parts.push(sql`j.user_id = ${spec.ownerId}::uuid`);
  if (spec.from) parts.push(sql`j.created_at >= ${spec.from}`);
  if (spec.to) parts.push(sql`j.created_at < ${spec.to}`);
  for (const clause of spec.clauses) {
    if (clause.length === 0) continue;
    parts.push(
      sql`(${joined(
        sql,
        clause.map((t) => termSql(sql, t)),
        "OR",
      )})`,
    );
  }
  return joined(sql, parts, "AND");
}

/**
 * The jobs the filters match; the workspace is joined for project and image terms, the image for
 * repository and image terms (PostgreSQL drops a left join on a primary key that no term uses).
 */
const matchingJobs = (sql: Sql, where: Fragment): Fragment =>
  sql`FROM job j LEFT JOIN workspace w ON w.id = j.workspace_id LEFT JOIN image i ON i.id = j.image_id WHERE ${where}`;

/** One page of matching jobs (up to `limit`), newest first or oldest first. */
export async function searchJobRows(sql: Sql, spec: JobSearchSpec, limit: number): Promise<JobSearchRow[]> {
  const where = filterSql(sql, spec);
  const desc = spec.order === "desc";
  // ::text first: a parameter typed timestamptz would go through a JS Date and lose microseconds.
  const after = spec.after
    ? desc
      ? sql`AND (j.created_at, j.id) < (${spec.after.createdAt}::text::timestamptz, ${spec.after.id}::uuid)`
      : sql`AND (j.created_at, j.id) > (${spec.after.createdAt}::text::timestamptz, ${spec.after.id}::uuid)`
    : sql``;
  const order = desc ? sql`j.created_at DESC, j.id DESC` : sql`j.created_at ASC, j.id ASC`;
  // The page is chosen first, then joined to its owner and workspace: when the planner misjudges a
  // filter (a phrase's selectivity: 7 rows estimated, 18,800 found), the joins would otherwise run
  // for every match before the sort (measured: 209 ms instead of 80 ms on 1,000,000 jobs).
  return sql<JobSearchRow[]>`
    SELECT j.id::text, j.type, j.status, j.step, j.user_id::text, u.name AS owner_name, u.email AS owner_email,
           j.workspace_id::text, w.project_name, coalesce(w.image, i.tag) AS image, i.repository,
           j.operation_id, j.attempts, j.error_code,
           j.error_message, j.created_at, j.updated_at, j.started_at, j.finished_at, j.version::text,
           j.host_id::text, (SELECT h.name FROM hosts h WHERE h.id = j.host_id) AS host_name,
           to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
      FROM (SELECT j.id, j.type, j.status, j.step, j.user_id, j.workspace_id, j.operation_id, j.attempts,
                   j.error_code, j.error_message, j.created_at, j.updated_at, j.started_at, j.finished_at, j.version,
                   j.host_id, j.image_id
              ${matchingJobs(sql, sql`${where} ${after}`)}
             ORDER BY ${order}
             LIMIT ${limit}) j
      LEFT JOIN workspace w ON w.id = j.workspace_id
      LEFT JOIN image i ON i.id = j.image_id
      LEFT JOIN users u ON u.id = j.user_id
     ORDER BY ${order}`;
}

/** Whether `total` is every match ("eq") or a lower bound ("gte", facets then unknown and empty). */
export type TotalRelation = "eq" | "gte";

export interface JobCounts {
  total: number;
  totalRelation: TotalRelation;
  facets: JobSearchFacets;
}

export interface CountLimits {
  /** A full count is tried only when the planner expects at most this many matches. */
  fullCountUpTo: number;
  /** Otherwise, or when it runs out of time: up to this many matches are still counted exactly. */
  exactUpTo: number;
  /** Time allowed for each counting statement, in ms. */
  budgetMs: number;
}

type FacetRow = { status: string | null; type: string | null; n: number };

function toCounts(rows: FacetRow[]): { total: number; facets: JobSearchFacets } {
  const facets: JobSearchFacets = { status: {}, type: {} };
  let total = 0;
  for (const r of rows) {
    if (r.status !== null) {
      facets.status[r.status] = r.n;
      total += r.n;
    } else if (r.type !== null) {
      facets.type[r.type] = r.n;
    }
  }
  return { total, facets };
}

const QUERY_CANCELED = "57014";
const canceled = (err: unknown) => (err as { code?: string }).code === QUERY_CANCELED;

/** How many rows the planner expects the filters to match (EXPLAIN: plans, runs nothing). */
async function expectedMatches(sql: Sql, where: Fragment): Promise<number> {
  const [row] = await sql<{ "QUERY PLAN": unknown }[]>`
    EXPLAIN (FORMAT JSON) SELECT 1 ${matchingJobs(sql, where)}`;
  const raw = row?.["QUERY PLAN"];
  const plan = (typeof raw === "string" ? JSON.parse(raw) : raw) as Array<{ Plan?: { "Plan Rows"?: number } }>;
  return plan[0]?.Plan?.["Plan Rows"] ?? Number.POSITIVE_INFINITY;
}

/**
 * How many jobs match, and how many per status and per type (lowercase keys, like Elasticsearch's),
 * at a bounded cost: counting a million rows takes PostgreSQL about half a second here, too long
 * for a fallback that must answer fast. A full count is tried only when the planner expects at most
 * `fullCountUpTo` matches, and gets `budgetMs`; otherwise, or if it does not finish in time, the
 * first `exactUpTo + 1` matches are counted (cheap when there are many), and more than `exactUpTo`
 * answers `exactUpTo` as a lower bound (`gte`) with empty facets. Each count runs under its own
 * statement_timeout, in a transaction, so a slow count never holds a connection longer.
 */
export async function countJobFacets(sql: Sql, spec: JobSearchSpec, limits: CountLimits): Promise<JobCounts> {
  const where = filterSql(sql, spec);
  const timeout = `${Math.max(1, Math.round(limits.budgetMs))}ms`;
  const facetRows = (tx: TransactionSql, capped: boolean) => tx<FacetRow[]>`
    SELECT lower(m.status) AS status, lower(m.type) AS type, count(*)::int AS n
      FROM (SELECT j.status, j.type
              ${matchingJobs(sql, where)}
             ${capped ? sql`LIMIT ${limits.exactUpTo + 1}` : sql``}) m
     GROUP BY GROUPING SETS ((m.status), (m.type))`;
  /** The counts, or null when the statement ran out of time. */
  const bounded = async (capped: boolean) => {
    try {
      return toCounts(
        await sql.begin(async (tx) => {
          await tx`SELECT set_config('statement_timeout', ${timeout}, true)`;
          return facetRows(tx, capped);
        }),
      );
    } catch (err) {
      if (!canceled(err)) throw err;
      return null;
    }
  };
  // A full count first scans the matches once when they fit the budget (a phrase matching 18,800
  // of 1,000,000 jobs: 62 ms, where a capped count and then a full one took 95 ms); one that is
  // sure to run out of time (status:failed, 150,000 matches) is not started at all, which saves
  // the whole budget (admin `status:failed` on 1,000,000 jobs: p50 141 ms before, 35 ms after).
  if ((await expectedMatches(sql, where)) <= limits.fullCountUpTo) {
    const full = await bounded(false);
    if (full) return { ...full, totalRelation: "eq" };
  }
  // Not tried or out of time: the first exactUpTo + 1 matches are cheap to find when there are many
  // of them. If even that runs out of time nothing is known: 0, which the caller raises to the
  // matches it saw.
  const capped = await bounded(true);
  if (capped && capped.total <= limits.exactUpTo) return { ...capped, totalRelation: "eq" };
  return { total: capped ? limits.exactUpTo : 0, totalRelation: "gte", facets: { status: {}, type: {} } };
}
