import type { JobDocument, JobStatus, JobType, SearchSyncRow } from "@a4c/shared";

/**
 * External version given to deletes. A job id is never reused, so a delete is final: it must beat
 * every version the job ever had, including ones es-sync has not seen yet (the delete event's
 * before-image carries only the key, and search_sync may lag Elasticsearch after a crash). The
 * largest integer JSON and JavaScript carry exactly; Elasticsearch accepts up to 2^63-1.
 */
export const DELETED_VERSION = Number.MAX_SAFE_INTEGER;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The search document of one job row. */
export function toJobDocument(row: SearchSyncRow): JobDocument {
  return {
    id: row.id,
    type: row.type as JobType,
    status: row.status as JobStatus,
    step: row.step,
    userId: row.user_id,
    ownerName: row.owner_name,
    ownerEmail: row.owner_email,
    workspaceId: row.workspace_id,
    projectName: row.project_name,
    image: row.image,
    repository: row.repository,
    operationId: row.operation_id,
    hostId: row.host_id,
    hostName: row.host_name,
    attempts: row.attempts,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    version: Number(row.version),
  };
}

/** What to write for one job: its current document, or a final delete when the row is gone. */
export type IndexOp = { kind: "index"; id: string; version: number; doc: JobDocument } | { kind: "delete"; id: string };

/** Pairs each changed id with its current row (absent = deleted) into bulk operations. */
export function planOps(ids: readonly string[], rows: readonly SearchSyncRow[]): IndexOp[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => {
    const row = byId.get(id);
    if (!row) return { kind: "delete", id };
    const doc = toJobDocument(row);
    return { kind: "index", id, version: doc.version, doc };
  });
}
