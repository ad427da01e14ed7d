/** `a4c ws create|ls|show|rm`: a user's workspaces. */
import type { Command } from "commander";
import type { Accepted, Page, Workspace } from "../api.ts";
import type { Context } from "../context.ts";
import { EXIT } from "../errors.ts";
import { ago, paintStatus, table } from "../render.ts";
import { newIdempotencyKey } from "../retry.ts";
import { action, KEY_OPTION, positiveInt, WAIT_OPTION } from "./common.ts";
import { acceptedLines, waitAndReport } from "./operation.ts";
import { showWorkspace, workspaceLines } from "./workspace-view.ts";

const USER_OPTION = ["--user <userId>", "act for this user (the admin must say which)"] as const;

async function create(
  ctx: Context,
  project: string,
  o: { image?: string; wait?: boolean; user?: string; idempotencyKey?: string },
) {
  const userId = await ctx.userId(o.user);
  const key = o.idempotencyKey ?? newIdempotencyKey();
  const body = o.image ? { projectName: project, image: o.image } : { projectName: project };
  const a = await ctx.client.post<Accepted>(`/v1/users/${encodeURIComponent(userId)}/workspaces`, key, body);
  if (!o.wait) {
    acceptedLines(ctx, `Creating workspace for ${project}`, a);
    return EXIT.ok;
  }
  if (!ctx.json) ctx.print(`Creating workspace ${a.workspaceId} for ${ctx.c.bold(project)}`);
  return waitAndReport(ctx, a.operationId, a);
}

async function remove(ctx: Context, id: string, o: { wait?: boolean; idempotencyKey?: string }) {
  // The path names the owner: read it from the workspace, so nobody (not even the admin) has to.
  const w = await showWorkspace(ctx, id);
  const key = o.idempotencyKey ?? newIdempotencyKey();
  const path = `/v1/users/${encodeURIComponent(w.userId)}/workspaces/${encodeURIComponent(w.id)}`;
  const a = await ctx.client.delete<Accepted>(path, key);
  if (!o.wait) {
    acceptedLines(ctx, `Deleting workspace ${w.id} (${w.projectName})`, a);
    return EXIT.ok;
  }
  if (!ctx.json) ctx.print(`Deleting workspace ${w.id} (${ctx.c.bold(w.projectName)})`);
  return waitAndReport(ctx, a.operationId, a);
}

async function list(ctx: Context, o: { user?: string; all?: boolean; limit: number; cursor?: string }) {
  const userId = await ctx.userId(o.user);
  const page = await ctx.client.get<Page<Workspace>>(`/v1/users/${encodeURIComponent(userId)}/workspaces`, {
    limit: o.limit,
    cursor: o.cursor,
  });
  if (ctx.json) return ctx.printJson(page);
  const shown = o.all ? page.items : page.items.filter((w) => w.status !== "DELETED");
  const hidden = page.items.length - shown.length;
  if (shown.length === 0) ctx.print(ctx.c.dim("No workspaces. Create one: a4c ws create <project> --wait"));
  else {
    ctx.print(
      table(
        ctx.c,
        ["ID", "PROJECT", "STATUS", "HOST", "ADDRESS", "CREATED"],
        shown.map((w) => [w.id, w.projectName, paintStatus(ctx.c, w.status), w.hostName, w.address, ago(w.createdAt)]),
      ),
    );
  }
  if (hidden > 0) ctx.notice(`${hidden} deleted workspace${hidden === 1 ? "" : "s"} not shown (--all shows them)`);
  if (page.cursor) ctx.notice(`More: a4c ws ls --cursor ${page.cursor}${o.all ? " --all" : ""}`);
}

export function registerWs(program: Command): void {
  const ws = program
    .command("ws")
    .description("create, list, show and delete workspaces")
    .addHelpText("after", "\nExamples:\n  a4c ws create backend-api --wait\n  a4c ws ls\n  a4c ws rm <id> --wait");

  ws.command("create <project>")
    .description("create a workspace for a project (asynchronous; --wait follows it to RUNNING)")
    .option("--image <image>", "the image to run (the system's default otherwise)")
    .option(...WAIT_OPTION)
    .option(...USER_OPTION)
    .option(...KEY_OPTION)
    .addHelpText(
      "after",
      `
Exit code 1 when the operation fails (e.g. project_exists: the project already has a live
workspace) or its job does not complete. A 503 or 429 is retried for up to 60 s with the same
Idempotency-Key, so a retry never creates a second workspace.

Examples:
  a4c ws create backend-api --wait
  a4c ws create ml --image python:3.12 --json
  a4c ws create backend-api --user 0198… --wait     (as the admin)`,
    )
    .action(action(create));

  ws.command("ls")
    .description("list workspaces (deleted ones hidden unless --all)")
    .option(...USER_OPTION)
    .option("--all", "include DELETED workspaces")
    .option("--limit <n>", "at most this many per page (1-200)", positiveInt, 50)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .action(action(list));

  ws.command("show <workspaceId>")
    .description("show one workspace: status, host, hostname and address")
    .action(
      action(async (ctx, id: string) => {
        const w = await showWorkspace(ctx, id);
        if (ctx.json) ctx.printJson(w);
        else ctx.print(workspaceLines(ctx, w));
        return EXIT.ok;
      }),
    );

  ws.command("rm <workspaceId>")
    .alias("delete")
    .description("delete a workspace (asynchronous; --wait follows it to DELETED)")
    .option(...WAIT_OPTION)
    .option(...KEY_OPTION)
    .addHelpText("after", "\nExample:\n  a4c ws rm 0198f0c2-6f1e-7a3b-9c4d-2e5f6a7b8c9d --wait")
    .action(action(remove));
}
