/** The admin's views: `a4c hosts`, `a4c dlq ls|replay` (the writes DLQ and the search-sync DLQ). */
import { type Command, Option } from "commander";
import type { Host, SearchDlqItem, SearchReplay, WritesDlqItem, WritesReplay } from "../api.ts";
import type { Context } from "../context.ts";
import { EXIT, ProblemError } from "../errors.ts";
import { ago, bytes, fields, paintStatus, shortId, table } from "../render.ts";
import { action } from "./common.ts";

type Which = "writes" | "search";
const WHICH: Which[] = ["writes", "search"];
const ONLY = () =>
  new Option("--only <dlq>", "one of the two: writes (the processor's) or search (es-sync's)").choices(WHICH);

const DLQ_PATH: Record<Which, string> = { writes: "/ops/processor/dlq", search: "/ops/es-sync/dlq" };

/** A 404 here is a server without that DLQ's endpoint: say which one. */
function notServed(which: Which) {
  return (err: unknown): never => {
    if (err instanceof ProblemError && err.status === 404) {
      throw new ProblemError(404, `No ${which} DLQ here`, `${DLQ_PATH[which]} is not served by this server`);
    }
    throw err;
  };
}

function chosen(only: Which | undefined): Which[] {
  return only ? [only] : WHICH;
}

async function hosts(ctx: Context) {
  const list = await ctx.client.get<Host[]>("/v1/hosts");
  if (ctx.json) return ctx.printJson(list);
  const c = ctx.c;
  if (list.length === 0) return ctx.print(c.dim("No hosts registered."));
  ctx.print(
    table(
      c,
      ["NAME", "STATE", "DISK USED", "OF", "%", "WORKSPACES", "SSH", "LAST SEEN", "LAST ERROR"],
      list.map((h) => [
        h.name,
        paintStatus(c, h.state),
        bytes(h.disk.usedBytes + h.disk.reservedBytes),
        bytes(h.disk.totalBytes),
        h.disk.usedPercent === null ? "" : `${h.disk.usedPercent}%`,
        h.workspaces,
        h.sshAddress,
        ago(h.lastSeenAt),
        h.lastError ? c.red(h.lastError) : "",
      ]),
    ),
  );
}

interface Listing<T> {
  items: T[];
  total: number;
}

async function dlqList(ctx: Context, o: { only?: Which }) {
  const which = chosen(o.only);
  const answers = await Promise.all(
    which.map((w) => ctx.client.get<Listing<unknown>>(DLQ_PATH[w]).catch(notServed(w))),
  );
  const got = Object.fromEntries(which.map((w, i) => [w, answers[i]])) as Partial<{
    writes: Listing<WritesDlqItem>;
    search: Listing<SearchDlqItem>;
  }>;
  if (ctx.json) return ctx.printJson(got);
  const c = ctx.c;
  if (got.writes) {
    ctx.print(c.bold(`Writes DLQ (write-processor): ${got.writes.total}`));
    if (got.writes.items.length > 0) {
      ctx.print(
        table(
          c,
          ["SEQ", "ENTITY", "REASON", "OPERATION", "STORED", "REPLAYABLE", "DETAIL"],
          got.writes.items.map((i) => [
            i.seq,
            i.entity,
            i.reason,
            i.operationId,
            ago(i.storedAt),
            i.replayable ? "yes" : "no",
            i.detail,
          ]),
        ),
      );
    }
  }
  if (got.search) {
    if (got.writes) ctx.print("");
    ctx.print(c.bold(`Search-sync DLQ (es-sync): ${got.search.total}`));
    if (got.search.items.length > 0) {
      ctx.print(
        table(
          c,
          ["JOB", "VERSION", "ATTEMPTS", "FIRST FAILED", "PARTITION/OFFSET", "ERROR"],
          got.search.items.map((i) => [
            i.jobId,
            i.version,
            i.attempts,
            ago(i.firstFailedAt),
            `${i.partition}/${i.offset}`,
            i.error,
          ]),
        ),
      );
    }
  }
}

async function dlqReplay(ctx: Context, o: { only?: Which }) {
  const which = chosen(o.only);
  const answers = await Promise.all(
    which.map((w) => ctx.client.action<unknown>(`${DLQ_PATH[w]}/replay`).catch(notServed(w))),
  );
  const got = Object.fromEntries(which.map((w, i) => [w, answers[i]])) as Partial<{
    writes: WritesReplay;
    search: SearchReplay;
  }>;
  if (ctx.json) {
    ctx.printJson(got);
    return stillFailing(got) ? EXIT.failed : EXIT.ok;
  }
  const c = ctx.c;
  if (got.writes) {
    const w = got.writes;
    ctx.print(
      fields(c, [["writes", `replayed ${w.replayed} · still failing ${w.stillFailing} · skipped ${w.skipped}`]]),
    );
    for (const i of w.items) {
      ctx.print(
        `  ${String(i.seq).padStart(6)}  ${shortId(i.operationId)}  ${i.outcome}${i.detail ? `  ${c.dim(i.detail)}` : ""}`,
      );
    }
  }
  if (got.search) {
    const s = got.search;
    ctx.print(fields(c, [["search", `replayed ${s.replayed} · indexed ${s.indexed} · failed again ${s.failedAgain}`]]));
  }
  return stillFailing(got) ? EXIT.failed : EXIT.ok;
}

/** A replay that left messages failing has not done its work: exit 1, so a script notices. */
function stillFailing(got: { writes?: WritesReplay; search?: SearchReplay }): boolean {
  return (got.writes?.stillFailing ?? 0) > 0 || (got.search?.failedAgain ?? 0) > 0;
}

export function registerAdmin(program: Command): void {
  program
    .command("hosts")
    .description("list the hosts with their state, disk and workspaces (admin)")
    .action(action(hosts));

  const dlq = program
    .command("dlq")
    .description("dead-letter queues: writes the processor gave up on, job changes es-sync could not index (admin)")
    .addHelpText(
      "after",
      "\nExamples:\n  a4c dlq ls\n  a4c dlq ls --only writes --json\n  a4c dlq replay --only search",
    );
  dlq.command("ls").description("list what is in the DLQs").addOption(ONLY()).action(action(dlqList));
  dlq
    .command("replay")
    .description("apply the DLQs' messages again (exit 1 when some still fail)")
    .addOption(ONLY())
    .action(action(dlqReplay));
}
