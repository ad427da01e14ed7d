/** How one bulk item came out. Pure, so the rules are unit-tested without Elasticsearch. */
export type ItemOutcome =
  | { kind: "written" }
  /** A newer (or the same) version is already there: this one lost, which is correct. */
  | { kind: "stale" }
  | { kind: "failed"; status: number; error: string };

export interface BulkItemResponse {
  status?: number;
  result?: string;
  error?: { type?: string; reason?: string | null } | null;
}

export function classifyItem(op: "index" | "delete", item: BulkItemResponse | undefined): ItemOutcome {
  if (!item) return { kind: "failed", status: 0, error: "no bulk item response" };
  const status = item.status ?? 0;
  if (status === 409 || item.error?.type === "version_conflict_engine_exception") return { kind: "stale" };
  // Deleting a document that is not there (never indexed, or already deleted) reaches the goal.
  if (op === "delete" && status === 404) return { kind: "written" };
  if (status >= 200 && status < 300 && !item.error) return { kind: "written" };
  const error = item.error ? `${item.error.type ?? "error"}: ${item.error.reason ?? ""}` : `status ${status}`;
  return { kind: "failed", status, error };
}
