import {
  getUser,
  getWorkspace,
  listWorkspaces,
  problems,
  type Sql,
  type UserRow,
  type WorkspaceRow,
} from "@a4c/shared";

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
    version: Number(w.version),
    createdAt: w.created_at,
    updatedAt: w.updated_at,
  };
}

/** Opaque keyset cursor: the sort key of the last item of a page. */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    const exact = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
    if (!exact.test(createdAt) || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id)) {
      throw new Error("bad cursor");
    }
    return { createdAt, id };
  } catch {
    throw problems.badRequest("invalid cursor");
  }
}

/** Entity reads straight from PostgreSQL (the cache in front of them comes with CDC invalidation). */
export class EntityService {
  constructor(private readonly sql: Sql) {}

  async user(id: string) {
    const u = await getUser(this.sql, id);
    return u ? userView(u) : null;
  }

  async workspace(id: string) {
    const w = await getWorkspace(this.sql, id);
    return w ? workspaceView(w) : null;
  }

  async workspaces(userId: string, limit: number, cursor?: string): Promise<Page<ReturnType<typeof workspaceView>>> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows = await listWorkspaces(this.sql, userId, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(workspaceView),
      cursor: rows.length > limit && last ? encodeCursor(last.created_at_exact, last.id) : null,
    };
  }
}
