/** How a workspace is shown: in full (`ws show`), and in one line after a --wait. */
import type { Workspace } from "../api.ts";
import type { Context } from "../context.ts";
import { ago, fields, paintStatus } from "../render.ts";

export function showWorkspace(ctx: Context, id: string): Promise<Workspace> {
  return ctx.client.get<Workspace>(`/v1/workspaces/${encodeURIComponent(id)}`);
}

export function workspaceLines(ctx: Context, w: Workspace): string {
  const c = ctx.c;
  return fields(c, [
    ["workspace", w.id],
    ["project", w.projectName],
    ["status", paintStatus(c, w.status)],
    ["image", w.image],
    ["host", w.hostName],
    ["hostname", w.hostname],
    ["address", w.address],
    ["container", w.containerId?.slice(0, 12)],
    ["user", w.userId],
    ["created", `${w.createdAt} (${ago(w.createdAt)})`],
    ["updated", `${w.updatedAt} (${ago(w.updatedAt)})`],
  ]);
}

/** The workspace once it has left CREATING / DELETING (its cached copy may lag the job a moment). */
export async function settledWorkspace(ctx: Context, id: string): Promise<Workspace> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const w = await showWorkspace(ctx, id);
    if ((w.status !== "CREATING" && w.status !== "DELETING") || Date.now() > deadline) return w;
    await Bun.sleep(200);
  }
}

export function workspaceSummary(ctx: Context, w: Workspace): string {
  const where = [w.hostname, w.address && `(${w.address})`, w.hostName && `on ${w.hostName}`].filter(Boolean);
  return `Workspace ${w.id} is ${paintStatus(ctx.c, w.status)}${where.length ? ` — ${where.join(" ")}` : ""}`;
}
