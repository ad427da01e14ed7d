/**
 * Operations: `a4c op <id> [--wait]`, and the waiting and reporting every write shares. The exit
 * code says how it ended: 1 when the operation failed or its job did not complete.
 */
import type { Command } from "commander";
import { type Accepted, isTerminalJob, type Job, type OperationView } from "../api.ts";
import type { Context } from "../context.ts";
import { EXIT, type ExitCode } from "../errors.ts";
import { type Followed, follow } from "../follow.ts";
import { between, type Colors, fields, paintStatus } from "../render.ts";
import { action, WAIT_OPTION } from "./common.ts";
import { settledWorkspace, workspaceSummary } from "./workspace-view.ts";

/** 1 when the operation failed or its job ended other than COMPLETED; else 0. */
export function outcomeCode(view: OperationView, job: { status: string } | null | undefined): ExitCode {
  if (view.status === "failed") return EXIT.failed;
  const status = job?.status ?? view.job?.status;
  if (status !== undefined && isTerminalJob(status) && status !== "COMPLETED") return EXIT.failed;
  return EXIT.ok;
}

export function operationLines(c: Colors, view: OperationView, job?: Job | null): string {
  const jobStatus = job?.status ?? view.job?.status;
  return fields(c, [
    ["operation", view.operationId],
    ["status", paintStatus(c, view.status)],
    ["entity", `${view.entity.type} ${view.entity.id}`],
    ["job", view.job ? `${view.job.id} ${paintStatus(c, jobStatus ?? "")}` : null],
    ["step", view.job && !isTerminalJob(view.job.status) ? view.job.step : null],
    ["took", job?.startedAt ? between(job.startedAt, job.finishedAt) : null],
    ["error", view.error ? `${c.red(view.error.code)}: ${view.error.message}` : null],
    ["job error", job?.error ? `${c.red(job.error.code)}: ${job.error.message ?? ""}` : null],
  ]);
}

/** The end of a followed operation, in one line. */
export function endLine(c: Colors, f: Followed): string {
  if (f.view.status === "failed") {
    const e = f.view.error;
    return `${c.red("✖ Operation failed")}${e ? `: ${e.code} — ${e.message}` : ""}`;
  }
  if (!f.job) return `${c.green("✔")} Operation ${f.view.status}`;
  const took = f.job.startedAt ? ` in ${between(f.job.startedAt, f.job.finishedAt)}` : "";
  const mark = f.job.status === "COMPLETED" ? c.green("✔") : c.red("✖");
  const why = f.job.error ? ` — ${f.job.error.code}: ${f.job.error.message ?? ""}` : "";
  return `${mark} Job ${paintStatus(c, f.job.status)}${took}${why}`;
}

/** Follows an operation to its end, showing progress and (without --json) how it ended. */
export async function waitFor(ctx: Context, operationId: string): Promise<{ followed: Followed; code: ExitCode }> {
  const followed = await follow(ctx.client, operationId, ctx.progress());
  if (!ctx.json) ctx.print(endLine(ctx.c, followed));
  return { followed, code: outcomeCode(followed.view, followed.job) };
}

/**
 * POSTs a write that is applied in milliseconds and waits for it, so a refusal is the command's
 * exit code. With --json the accepted answer and its outcome are printed here. `done` is the exit
 * code when the command has nothing more to print (--json, or the operation failed), else null.
 */
export async function postAndWait<A extends { operationId: string }>(
  ctx: Context,
  path: string,
  key: string,
  body: unknown,
): Promise<{ accepted: A; done: ExitCode | null }> {
  const accepted = await ctx.client.post<A>(path, key, body);
  const { followed, code } = await waitFor(ctx, accepted.operationId);
  if (ctx.json) {
    ctx.printJson({ ...accepted, ...followedJson(followed) });
    return { accepted, done: code };
  }
  return { accepted, done: code === EXIT.ok ? null : code };
}

/** The --json form of a followed operation: its status, `job` being the job's full record. */
export function followedJson(f: Followed): Record<string, unknown> {
  return { ...f.view, job: f.job ?? f.view.job ?? null };
}

/**
 * Waits, then reports: how it ended and, for a workspace's operation, the workspace as it now is
 * (with --json: the accepted answer, the final status and the workspace in one object).
 */
export async function waitAndReport(
  ctx: Context,
  operationId: string,
  accepted: Accepted | Record<string, never> = {},
): Promise<ExitCode> {
  const { followed, code } = await waitFor(ctx, operationId);
  const { entity } = followed.view;
  const w = WORKSPACE_ENTITIES.has(entity.type) ? await settledWorkspace(ctx, entity.id).catch(() => null) : null;
  if (ctx.json) ctx.printJson({ ...accepted, ...followedJson(followed), ...(w ? { workspace: w } : {}) });
  else if (w) ctx.print(workspaceSummary(ctx, w));
  return code;
}

const WORKSPACE_ENTITIES = new Set(["workspace", "workspaces"]);

/** What a write without --wait prints. */
export function acceptedLines(ctx: Context, what: string, a: Accepted): void {
  if (ctx.json) {
    ctx.printJson(a);
    return;
  }
  ctx.print(`${ctx.c.green("✔")} ${what}`);
  ctx.print(
    fields(ctx.c, [
      ["operation", a.operationId],
      ["workspace", a.workspaceId],
      ["job", a.jobId],
    ]),
  );
  ctx.print(ctx.c.dim(`Follow it with: a4c op ${a.operationId} --wait`));
}

export function registerOp(program: Command): void {
  program
    .command("op <operationId>")
    .description("show an operation's status (a write's progress), or follow it with --wait")
    .option(...WAIT_OPTION)
    .addHelpText(
      "after",
      `
Exit code 1 when the operation failed or its job did not complete.

Examples:
  a4c op op-w-3f2c9a0e1b7d4c6a8e5f1b2c-9d8e7f6a5b4c
  a4c op op-w-3f2c9a0e1b7d4c6a8e5f1b2c-9d8e7f6a5b4c --wait`,
    )
    .action(
      action(async (ctx, id: string, o: { wait?: boolean }) => {
        const path = `/status/${encodeURIComponent(id)}`;
        if (o.wait) return waitAndReport(ctx, id);
        const view = await ctx.client.get<OperationView>(path);
        const job = view.job ? await ctx.client.get<Job>(`/v1/jobs/${view.job.id}`) : null;
        if (ctx.json) ctx.printJson({ ...view, job: job ?? view.job ?? null });
        else ctx.print(operationLines(ctx.c, view, job));
        return outcomeCode(view, job);
      }),
    );
}
