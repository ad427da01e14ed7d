import {
  cacheKeys,
  decodeCursor,
  encodeCursor,
  getJob,
  getUser,
  getWorkspace,
  type JobRow,
  listWorkspaces,
  type Sql,
  type UserRow,
  type WorkspaceRow,
} from "@a4c/shared";
import type { ReadCache } from "./cache.ts";

export interface Page<T> {
  items: T[];
  cursor: string | null;
}

function userView(u: UserRow) {
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    version: Number(u.version),
    createdAt: u.created_at,
    updatedAt: u.updated_at,
  };
}

function workspaceView(w: WorkspaceRow) {
  return {
    id: w.id,
    userId: w.user_id,
    projectName: w.project_name,
    image: w.image,
    status: w.status,
    hostId: w.host_id,
    hostName: w.host_name,
    containerId: w.container_id,
    address: w.address,
    hostname: w.hostname,
    version: Number(w.version),
    createdAt: w.created_at,
    updatedAt: w.updated_at,
  };
}

function jobView(j: JobRow) {
  return {
    id: j.id,
    type: j.type,
    status: j.status,
    step: j.step,
    // null for an image build: it belongs to no user.
    userId: j.user_id,
    workspaceId: j.workspace_id,
    imageId: j.image_id,
    operationId: j.operation_id,
    attempts: j.attempts,
    error: j.error_code ? { code: j.error_code, message: j.error_message } : null,
    hostId: j.host_id,
    hostName: j.host_name,
    note: j.note,
    cancelRequested: j.cancel_requested,
    steps: j.steps,
    version: Number(j.version),
    createdAt: j.created_at,
    updatedAt: j.updated_at,
    startedAt: j.started_at,
    finishedAt: j.finished_at,
  };
}

type WorkspaceView = ReturnType<typeof workspaceView>;

/**
 * Entity reads, cache-aside: each read model under the name its change events invalidate
 * (see `invalidationFor`). Values are views, so a hit costs no mapping; JSON turns their dates
 * into the same ISO strings a fresh read answers.
 */
export class EntityService {
  constructor(
    private readonly sql: Sql,
    private readonly cache: ReadCache,
  ) {}

  user(id: string) {
    return this.cache.through("user", cacheKeys.user(id), "", async () => {
      const u = await getUser(this.sql, id);
      return u ? userView(u) : null;
    });
  }

  workspace(id: string) {
    return this.cache.through("workspace", cacheKeys.workspace(id), "", async () => {
      const w = await getWorkspace(this.sql, id);
      return w ? workspaceView(w) : null;
    });
  }

  job(id: string) {
    return this.cache.through("job", cacheKeys.job(id), "", async () => {
      const j = await getJob(this.sql, id);
      return j ? jobView(j) : null;
    });
  }

  /** Every page of a user's list is a field of one name, so one change invalidates them all. */
  async workspaces(userId: string, limit: number, cursor?: string): Promise<Page<WorkspaceView>> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const page = await this.cache.through(
      "workspaces",
      cacheKeys.workspaceList(userId),
      `${limit}|${cursor ?? ""}`,
      () => this.#page(userId, limit, after),
    );
    return page ?? { items: [], cursor: null };
  }

  async #page(userId: string, limit: number, after?: { createdAt: string; id: string }): Promise<Page<WorkspaceView>> {
    const rows = await listWorkspaces(this.sql, userId, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(workspaceView),
      cursor: rows.length > limit && last ? encodeCursor(last.created_at_exact, last.id) : null,
    };
  }
}
