import { type ChangeEvent, rowOf } from "./events.ts";

/**
 * Names of cached read models. One name per entity, one per list (a hash holding each page),
 * one per operation status. The cache adds its namespace and epoch around them.
 */
export const cacheKeys = {
  user: (id: string) => `user:${id}`,
  workspace: (id: string) => `ws:${id}`,
  /** Every page of a user's workspace list, as fields of one hash. */
  workspaceList: (userId: string) => `wsl:${userId}`,
  job: (id: string) => `job:${id}`,
  operation: (operationId: string) => `op:${operationId}`,
};

export interface Invalidation {
  /** Cache names this change makes stale. */
  keys: string[];
  /** Operations that settled (their ledger row appeared): wake their waiters. */
  settled: string[];
  /**
   * The event lacks what is needed to name every affected key (e.g. a delete whose before-image
   * only has the primary key): nothing can be proven fresh, so the whole cache must go.
   */
  flush: boolean;
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/** Exactly the cached names a change of `table` touches. */
export function invalidationFor(table: string, e: ChangeEvent): Invalidation {
  const row = rowOf(e);
  const before = e.before ?? {};
  const keys = new Set<string>();
  const settled: string[] = [];
  let flush = false;
  const need = (v: string | null, make: (v: string) => string) => {
    if (v) keys.add(make(v));
    else flush = true;
  };
  switch (table) {
    case "users":
      need(str(row.id), cacheKeys.user);
      break;
    case "workspace":
      need(str(row.id), cacheKeys.workspace);
      // A workspace moves between lists only if its owner changed: both lists are touched.
      need(str(row.user_id), cacheKeys.workspaceList);
      if (str(before.user_id) && before.user_id !== row.user_id) need(str(before.user_id), cacheKeys.workspaceList);
      break;
    case "job":
      need(str(row.id), cacheKeys.job);
      // The status of the operation that created the job embeds the job's status and step.
      need(str(row.operation_id), cacheKeys.operation);
      break;
    case "write_operations": {
      const id = str(row.operation_id);
      need(id, cacheKeys.operation);
      if (id && e.op !== "d") settled.push(id);
      break;
    }
    default:
      // A table we do not cache: nothing to do.
      break;
  }
  return { keys: [...keys], settled, flush };
}
