import {
  encodeCursor,
  type JobDocument,
  type JobSearchFacets,
  type JobSearchSpec,
  type JobSearchTerm,
} from "@a4c/shared";
import { Client, type estypes, HttpConnection } from "@elastic/elasticsearch";
import type { JobSearch, JobSearchPage } from "./backend.ts";

type Query = estypes.QueryDslQueryContainer;

export function createSearchClient(url: string, timeoutMs: number): Client {
  // Bun's undici support is partial; the node:http connection works (ARCHITECTURE §2). No retries:
  // the circuit breaker decides, and the fallback answers instead.
  return new Client({ node: url, Connection: HttpConnection, requestTimeout: timeoutMs, maxRetries: 0 });
}

function termQuery(t: JobSearchTerm): Query {
  let q: Query;
  switch (t.field) {
    // status and type are keywords with the lowercase normalizer.
    case "status":
      q = { term: { status: t.value.toLowerCase() } };
      break;
    case "type":
      q = { term: { type: t.value.toLowerCase() } };
      break;
    case "project":
      q = { term: { projectName: t.value } };
      break;
    case "owner":
      q = { term: { userId: t.value } };
      break;
    case "host":
      q = { term: { hostName: t.value.toLowerCase() } };
      break;
    case "repository":
      q = { term: { repository: t.value } };
      break;
    case "image":
      q = { term: { image: t.value } };
      break;
    case "text":
      q = t.phrase
        ? { match_phrase: { errorMessage: t.value } }
        : { match: { errorMessage: { query: t.value, operator: "and" } } };
      break;
  }
  return t.negated ? { bool: { must_not: [q] } } : q;
}

/** The filters as one bool query; every value goes in as a typed value, never as query text. */
export function buildQuery(spec: JobSearchSpec): Query {
  const filter: Query[] = [];
  if (spec.ownerId !== null) filter.push({ term: { userId: spec.ownerId } });
  if (spec.from || spec.to) {
    filter.push({
      range: {
        createdAt: {
          ...(spec.from && { gte: spec.from.toISOString() }),
          ...(spec.to && { lt: spec.to.toISOString() }),
        },
      },
    });
  }
  for (const clause of spec.clauses) {
    const [only] = clause;
    if (clause.length === 1 && only) filter.push(termQuery(only));
    else if (clause.length > 1) filter.push({ bool: { should: clause.map(termQuery), minimum_should_match: 1 } });
  }
  return { bool: { filter } };
}

/** Epoch milliseconds of a cursor time (PostgreSQL's cursors carry microseconds). */
const millis = (at: string): number => Date.parse(at.replace(/(\.\d{3})\d+Z$/, "$1Z"));

function buckets(agg: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of ((agg as estypes.AggregationsStringTermsAggregate | undefined)?.buckets as
    | estypes.AggregationsStringTermsBucket[]
    | undefined) ?? []) {
    out[String(b.key)] = b.doc_count;
  }
  return out;
}

/** The whole search request for `spec` (without the index): also what the benchmark sends straight to Elasticsearch. */
export function searchBody(spec: JobSearchSpec) {
  return {
    query: buildQuery(spec),
    sort: [{ createdAt: { order: spec.order } }, { id: { order: spec.order } }],
    ...(spec.after && { search_after: [millis(spec.after.createdAt), spec.after.id] }),
    // One more than asked tells whether another page exists.
    size: spec.limit + 1,
    track_total_hits: true,
    aggs: { status: { terms: { field: "status", size: 20 } }, type: { terms: { field: "type", size: 20 } } },
  } satisfies Omit<estypes.SearchRequest, "index">;
}

/**
 * A document as this version writes it: one indexed before a field existed lacks it until its job
 * changes or a reindex rewrites it, and answers the field's value for such a job (null), as
 * PostgreSQL does.
 */
function complete(doc: JobDocument): JobDocument {
  return { ...doc, repository: doc.repository ?? null };
}

/** Job search answered from the Elasticsearch projection (alias `jobs`, written by es-sync). */
export class ElasticsearchJobSearch implements JobSearch {
  constructor(
    private readonly client: Client,
    private readonly alias: string,
  ) {}

  async search(spec: JobSearchSpec): Promise<JobSearchPage> {
    const r = await this.client.search<JobDocument>({ index: this.alias, ...searchBody(spec) });
    const hits = r.hits.hits.filter((h) => h._source !== undefined);
    const items = hits.slice(0, spec.limit).map((h) => complete(h._source as JobDocument));
    const last = items.at(-1);
    const total = r.hits.total;
    const facets: JobSearchFacets = { status: buckets(r.aggregations?.status), type: buckets(r.aggregations?.type) };
    return {
      items,
      total: typeof total === "number" ? total : (total?.value ?? 0),
      // track_total_hits: true, so always exact.
      totalRelation: "eq",
      facets,
      cursor: hits.length > spec.limit && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  }
}
