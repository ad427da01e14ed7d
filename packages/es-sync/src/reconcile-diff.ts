/** What differs between PostgreSQL (the truth) and Elasticsearch over the same set of jobs. */
export interface ReconcileDiff {
  postgresCount: number;
  elasticsearchCount: number;
  /** In PostgreSQL, not in Elasticsearch. */
  missing: string[];
  /** In both, Elasticsearch holds an older version. */
  stale: string[];
  /** In Elasticsearch only: deleted jobs (or, with a window, jobs whose newer version left it). */
  extra: string[];
  /** Elasticsearch ahead of PostgreSQL: should never happen; reported, not "repaired" backwards. */
  ahead: string[];
}

export function diffVersions(postgres: ReadonlyMap<string, number>, es: ReadonlyMap<string, number>): ReconcileDiff {
  const diff: ReconcileDiff = {
    postgresCount: postgres.size,
    elasticsearchCount: es.size,
    missing: [],
    stale: [],
    extra: [],
    ahead: [],
  };
  for (const [id, version] of postgres) {
    const indexed = es.get(id);
    if (indexed === undefined) diff.missing.push(id);
    else if (indexed < version) diff.stale.push(id);
    else if (indexed > version) diff.ahead.push(id);
  }
  for (const id of es.keys()) if (!postgres.has(id)) diff.extra.push(id);
  return diff;
}

/** The ids a repair re-syncs: syncing reads the current row, so it indexes or deletes as needed. */
export function idsToRepair(diff: ReconcileDiff): string[] {
  return [...diff.missing, ...diff.stale, ...diff.extra];
}
