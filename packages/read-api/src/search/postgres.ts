import {
  type CountLimits,
  countJobFacets,
  encodeCursor,
  type JobDocument,
  type JobSearchRow,
  type JobSearchSpec,
  type Sql,
  searchJobRows,
} from "@a4c/shared";
import type { JobSearch, JobSearchPage } from "./backend.ts";

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The same document es-sync writes, so both backends answer with the same items. */
function toDocument(r: JobSearchRow): JobDocument {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    step: r.step,
    userId: r.user_id,
    ownerName: r.owner_name,
    ownerEmail: r.owner_email,
    workspaceId: r.workspace_id,
    projectName: r.project_name,
    image: r.image,
    repository: r.repository,
    operationId: r.operation_id,
    hostId: r.host_id,
    hostName: r.host_name,
    attempts: r.attempts,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    version: Number(r.version),
  };
}

/** Job search answered from PostgreSQL, the source of truth (indexes: migration 0006). */
export class PostgresJobSearch implements JobSearch {
  constructor(
    private readonly sql: Sql,
    private readonly limits: CountLimits,
  ) {}

  async search(spec: JobSearchSpec): Promise<JobSearchPage> {
    // One row more than asked tells whether another page exists.
    const [rows, counted] = await Promise.all([
      searchJobRows(this.sql, spec, spec.limit + 1),
      countJobFacets(this.sql, spec, this.limits),
    ]);
    const page = rows.slice(0, spec.limit);
    const last = page.at(-1);
    return {
      items: page.map(toDocument),
      // A lower bound is at least what this page found.
      total: counted.totalRelation === "eq" ? counted.total : Math.max(counted.total, rows.length),
      totalRelation: counted.totalRelation,
      facets: counted.facets,
      cursor: rows.length > spec.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }
}
