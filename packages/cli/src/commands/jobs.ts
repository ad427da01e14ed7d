/** `a4c jobs [query]`, `a4c jobs show <id>`, `a4c jobs cancel <id>`: job search and one job. */
import type { Command } from "commander";
import type { Accepted, Job, JobSearch } from "../api.ts";
import type { Context } from "../context.ts";
import { EXIT, UsageError } from "../errors.ts";
import { ago, between, facetLine, fields, paintStatus, table } from "../render.ts";
import { newIdempotencyKey } from "../retry.ts";
import { stepElapsed } from "../steps.ts";
import { action, KEY_OPTION, positiveInt, WAIT_OPTION } from "./common.ts";
import { acceptedLines, followedJson, waitFor } from "./operation.ts";

interface SearchOptions {
  sort?: string;
  limit: number;
  cursor?: string;
  from?: string;
  to?: string;
}

/**
 * The query words as one `q`. Words are passed through unchanged (`-status:failed` negates), but
 * a word starting with `--` is an option we do not know: a typo, not a search term.
 */
export function searchQuery(words: readonly string[]): string {
  const unknown = words.find((w) => w.startsWith("--"));
  if (unknown) throw new UsageError(`Unknown option ${unknown}`, "see a4c jobs --help");
  return words.join(" ").trim();
}

const TYPE_LABEL: Record<string, string> = {
  WORKSPACE_CREATE: "create",
  WORKSPACE_DELETE: "delete",
  IMAGE_BUILD: "build",
};

/** The command that prints the next page: the same query and options, and the cursor. */
export function nextPageCommand(words: readonly string[], o: SearchOptions, cursor: string): string {
  const quote = (w: string) => (/^[\w:.@/-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  const parts = ["a4c jobs", ...words.map(quote)];
  if (o.sort) parts.push(`--sort ${o.sort}`);
  if (o.from) parts.push(`--from ${quote(o.from)}`);
  if (o.to) parts.push(`--to ${quote(o.to)}`);
  if (o.limit !== 20) parts.push(`--limit ${o.limit}`);
  parts.push(`--cursor ${cursor}`);
  return parts.join(" ");
}

async function search(ctx: Context, words: string[], o: SearchOptions) {
  const q = searchQuery(words);
  const sort =
    o.sort === undefined ? undefined : o.sort === "asc" || o.sort === "desc" ? `createdAt:${o.sort}` : o.sort;
  const r = await ctx.client.get<JobSearch>("/v1/jobs", {
    q,
    sort,
    limit: o.limit,
    cursor: o.cursor,
    from: o.from,
    to: o.to,
  });
  if (ctx.json) return ctx.printJson(r);
  const c = ctx.c;
  if (r.items.length === 0) ctx.print(c.dim(q ? `No jobs match ${q}` : "No jobs yet"));
  else {
    ctx.print(
      table(
        c,
        ["ID", "TYPE", "STATUS", "STEP", "PROJECT", "OWNER", "HOST", "CREATED"],
        r.items.map((j) => [
          j.id,
          TYPE_LABEL[j.type] ?? j.type,
          paintStatus(c, j.status),
          j.status === "IN_PROGRESS" || j.status === "FAILED" ? j.step : "",
          j.projectName,
          j.ownerName,
          j.hostName,
          ago(j.createdAt),
        ]),
      ),
    );
  }
  const total = `${r.totalRelation === "gte" ? "≥" : ""}${r.total}`;
  ctx.print("");
  ctx.print(
    fields(c, [
      ["shown", `${r.items.length} of ${total}`],
      ["status", facetLine(c, r.facets.status)],
      ["type", facetLine(c, r.facets.type)],
    ]),
  );
  if (r.degraded) ctx.notice(`Search is degraded: answered by ${r.source} (Elasticsearch unavailable)`);
  if (r.cursor) ctx.notice(`Next page: ${nextPageCommand(words, o, r.cursor)}`);
}

export function jobLines(ctx: Context, j: Job): string {
  const c = ctx.c;
  const head = fields(c, [
    ["job", j.id],
    ["type", j.type],
    ["status", paintStatus(c, j.status)],
    ["step", j.status === "IN_PROGRESS" ? j.step : null],
    ["host", j.hostName],
    ["workspace", j.workspaceId],
    ["operation", j.operationId],
    ["user", j.userId],
    ["created", `${j.createdAt} (${ago(j.createdAt)})`],
    ["took", j.startedAt ? between(j.startedAt, j.finishedAt) : null],
    ["error", j.error ? `${c.red(j.error.code)}: ${j.error.message ?? ""}` : null],
    ["note", j.note],
  ]);
  if (j.steps.length === 0) return head;
  const steps = table(
    c,
    ["STEP", "STATUS", "ATTEMPTS", "STARTED", "TOOK", "MESSAGE"],
    j.steps.map((s) => [
      s.name,
      paintStatus(c, s.status),
      s.attempts,
      s.startedAt ? s.startedAt.replace("T", " ").slice(0, 19) : "",
      stepElapsed(s),
      s.message,
    ]),
  );
  return `${head}\n\n${steps}`;
}

export function registerJobs(program: Command): void {
  const jobs = program
    .command("jobs")
    .description("search jobs; show one with its steps; cancel one")
    .addHelpText(
      "after",
      `
Search syntax (terms are ANDed; OR joins neighbours; a leading - negates):
  status:<s>   SCHEDULED, IN_PROGRESS, COMPLETED, FAILED, CANCELED (any case)
  type:<t>     workspace_create, workspace_delete, image_build
  project:<p>  owner:<me|userId>  host:<name>   "a phrase"   word
Put -- before a query that starts with a negation: a4c jobs -- -status:completed

Examples:
  a4c jobs                                   the newest jobs
  a4c jobs status:failed project:backend-api
  a4c jobs status:failed OR status:canceled owner:me
  a4c jobs '"disk full"' --limit 50
  a4c jobs show 0198f0c2-6f1e-7a3b-9c4d-2e5f6a7b8c9d
  a4c jobs cancel 0198f0c2-6f1e-7a3b-9c4d-2e5f6a7b8c9d --wait`,
    );

  jobs
    .command("search [query...]", { isDefault: true })
    .description("search jobs (the default: `a4c jobs <query>`): a table, facet counts and paging")
    .allowUnknownOption()
    .option("--sort <order>", "desc (newest first, the default) or asc")
    .option("--limit <n>", "at most this many (1-100)", positiveInt, 20)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .option("--from <time>", "created at or after (ISO 8601)")
    .option("--to <time>", "created before (ISO 8601)")
    .action(action(search));

  jobs
    .command("show <jobId>")
    .description("show a job and its steps")
    .action(
      action(async (ctx, id: string) => {
        const j = await ctx.client.get<Job>(`/v1/jobs/${encodeURIComponent(id)}`);
        if (ctx.json) ctx.printJson(j);
        else ctx.print(jobLines(ctx, j));
        return EXIT.ok;
      }),
    );

  jobs
    .command("cancel <jobId>")
    .description("cancel a job: a SCHEDULED one at once, an IN_PROGRESS one at its next step")
    .option(...WAIT_OPTION)
    .option(...KEY_OPTION)
    .action(
      action(async (ctx, id: string, o: { wait?: boolean; idempotencyKey?: string }) => {
        const key = o.idempotencyKey ?? newIdempotencyKey();
        const a = await ctx.client.post<Accepted>(`/v1/jobs/${encodeURIComponent(id)}/cancel`, key);
        if (!o.wait) return acceptedLines(ctx, `Cancelling job ${id}`, a);
        const { followed } = await waitFor(ctx, a.operationId);
        if (ctx.json) ctx.printJson({ ...a, ...followedJson(followed) });
        // Here CANCELED is the success; a job that ended otherwise was not cancelled.
        const ended = followed.job?.status ?? followed.view.job?.status;
        const cancelled = followed.view.status !== "failed" && (ended === undefined || ended === "CANCELED");
        return cancelled ? EXIT.ok : EXIT.failed;
      }),
    );
}
