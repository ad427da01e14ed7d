/** `a4c schedules create|ls|rm`: rebuilds of a repository's ref on a cron schedule (the admin's commands). */
import type { Command } from "commander";
import type { Accepted, AcceptedSchedule, Schedule } from "../api.ts";
import type { Context } from "../context.ts";
import { EXIT } from "../errors.ts";
import { ago, type Colors, fields, table } from "../render.ts";
import { newIdempotencyKey } from "../retry.ts";
import { action, KEY_OPTION } from "./common.ts";
import { followedJson, postAndWait, waitFor } from "./operation.ts";

export function schedulesTable(c: Colors, items: Schedule[]): string {
  return table(
    c,
    ["ID", "REPOSITORY", "REF", "CRON", "TIMEZONE", "CREATED", "LAST TICK", "LAST OUTCOME"],
    items.map((s) => [
      s.id,
      s.repository,
      s.ref,
      s.cron,
      s.timezone,
      ago(s.createdAt),
      s.recentTicks.length > 0 ? ago(s.lastTickAt) : "never",
      s.lastOutcome,
    ]),
  );
}

async function create(
  ctx: Context,
  repository: string,
  ref: string,
  cron: string,
  o: { timezone?: string; idempotencyKey?: string },
) {
  const key = o.idempotencyKey ?? newIdempotencyKey();
  const body = { repository, ref, cron, ...(o.timezone ? { timezone: o.timezone } : {}) };
  // A schedule is applied in milliseconds: wait, so a refusal is this command's exit code.
  const { accepted: a, done } = await postAndWait<AcceptedSchedule>(ctx, "/v1/schedules", key, body);
  if (done !== null) return done;
  ctx.print(
    fields(ctx.c, [
      ["schedule", a.scheduleId],
      ["builds", `${repository} at the head of ${ref}`],
      ["when", `${cron} (${o.timezone ?? "UTC"})`],
    ]),
  );
  return EXIT.ok;
}

async function list(ctx: Context) {
  const r = await ctx.client.get<{ items: Schedule[] }>("/v1/schedules");
  if (ctx.json) return ctx.printJson(r);
  if (r.items.length === 0) {
    return ctx.print(ctx.c.dim("No schedules. Create one: a4c schedules create <repository> <ref> '<cron>'"));
  }
  ctx.print(schedulesTable(ctx.c, r.items));
}

async function remove(ctx: Context, id: string, o: { idempotencyKey?: string }) {
  const key = o.idempotencyKey ?? newIdempotencyKey();
  const a = await ctx.client.delete<Accepted>(`/v1/schedules/${encodeURIComponent(id)}`, key);
  const { followed, code } = await waitFor(ctx, a.operationId);
  if (ctx.json) ctx.printJson({ ...a, ...followedJson(followed) });
  return code;
}

export function registerSchedules(program: Command): void {
  const schedules = program
    .command("schedules")
    .description("rebuild a repository's ref on a cron schedule (admin)")
    .addHelpText(
      "after",
      `
A tick builds the commit of the latest build request seen for the ref (a4c images build … --ref),
tagged a4c/<repository>:<sha>-s<tick>. Ticks missed while no scheduler ran give one catch-up build.

Examples:
  a4c schedules create team/app main '0 3 * * *' --timezone Europe/Paris
  a4c schedules ls
  a4c schedules rm <scheduleId>`,
    );

  schedules
    .command("create <repository> <ref> <cron>")
    .description("create a schedule (quote the cron expression: 5 fields, or 6 with seconds first)")
    .option("--timezone <zone>", "the IANA time zone the cron is read in (UTC otherwise)")
    .option(...KEY_OPTION)
    .addHelpText(
      "after",
      `
Exit code 2 when the gateway refuses it as given (a cron it cannot read, or one firing more often
than it allows); 1 when the operation fails.

Example:
  a4c schedules create team/app main '0 3 * * 1-5' --timezone America/New_York`,
    )
    .action(action(create));

  schedules.command("ls").description("list the schedules, with their last tick and its outcome").action(action(list));

  schedules
    .command("rm <scheduleId>")
    .alias("delete")
    .description("delete a schedule (exit 1 if there is no such schedule)")
    .option(...KEY_OPTION)
    .action(action(remove));
}
