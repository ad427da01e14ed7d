import { type Envelope, entityOf } from "./commands.ts";

export type OperationStatus = "pending" | "completed" | "failed";

export interface OperationView {
  operationId: string;
  status: OperationStatus;
  entity: { type: string; id: string };
  job?: { id: string; status: string; step: string | null };
  error?: { code: string; message: string };
  links: Record<string, string>;
}

/** The processed outcome of an operation, as PostgreSQL records it. */
export interface OperationRecord {
  operation_id: string;
  user_id: string;
  entity_table: string;
  entity_id: string;
  status: "completed" | "failed";
  error_code: string | null;
  error: string | null;
  job_id: string | null;
  job_status: string | null;
  job_step: string | null;
}

/** Clients see entity types in the singular, whatever the table is called. */
export function entityType(table: string): string {
  if (table === "users") return "user";
  if (table === "api_token") return "token";
  return table;
}

function entityLink(table: string, id: string): string | undefined {
  if (table === "users") return `/v1/users/${id}`;
  if (table === "workspace") return `/v1/workspaces/${id}`;
  if (table === "image") return `/v1/images/${id}`;
  return undefined;
}

export function viewFromRecord(r: OperationRecord): OperationView {
  const links: Record<string, string> = { self: `/status/${r.operation_id}` };
  const entity = entityLink(r.entity_table, r.entity_id);
  if (entity && r.status === "completed") links.entity = entity;
  const view: OperationView = {
    operationId: r.operation_id,
    status: r.status,
    entity: { type: entityType(r.entity_table), id: r.entity_id },
    links,
  };
  if (r.job_id) {
    view.job = { id: r.job_id, status: r.job_status ?? "SCHEDULED", step: r.job_step };
    links.job = `/v1/jobs/${r.job_id}`;
  }
  if (r.status === "failed") view.error = { code: r.error_code ?? "failed", message: r.error ?? "" };
  return view;
}

export function viewFromPending(envelope: Envelope): OperationView {
  const { table, id } = entityOf(envelope.command);
  return {
    operationId: envelope.operationId,
    status: "pending",
    entity: { type: entityType(table), id },
    links: { self: `/status/${envelope.operationId}` },
  };
}

export function isTerminal(status: OperationStatus): boolean {
  return status !== "pending";
}
