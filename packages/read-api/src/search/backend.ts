import type { JobDocument, JobSearchFacets, JobSearchSpec, TotalRelation } from "@a4c/shared";

/** One page of a job search, identical in shape whichever backend answered. */
export interface JobSearchPage {
  /** Jobs as the search projection holds them (the document es-sync writes). */
  items: JobDocument[];
  total: number;
  /**
   * "eq": `total` counts every match. "gte": a lower bound, from the PostgreSQL fallback when an
   * exact count would take too long (a large match set); `facets` are then empty.
   */
  totalRelation: TotalRelation;
  /** Counts per status and per type over everything matching (lowercase keys). */
  facets: JobSearchFacets;
  /** The next page's cursor, or null on the last page. */
  cursor: string | null;
}

/** A place job searches are answered from: Elasticsearch, or PostgreSQL as the fallback. */
export interface JobSearch {
  /** `spec` already carries the caller's ownership scope (query.ts toSpec). */
  search(spec: JobSearchSpec): Promise<JobSearchPage>;
}
