#!/usr/bin/env bun
/**
 * a4c — the command-line client of A4C. Wiring only: the commands (commands/), and the one place
 * a failure becomes a message and an exit code (errors.ts says which).
 */
import { Command, CommanderError } from "commander";
import pkg from "../package.json" with { type: "json" };
import { registerAdmin } from "./commands/admin.ts";
import { registerImages } from "./commands/images.ts";
import { registerJobs } from "./commands/jobs.ts";
import { registerOp } from "./commands/operation.ts";
import { registerSchedules } from "./commands/schedules.ts";
import { registerSession } from "./commands/session.ts";
import { registerTokens } from "./commands/tokens.ts";
import { registerUsers } from "./commands/users.ts";
import { registerWs } from "./commands/ws.ts";
import { CliError, EXIT, ProblemError } from "./errors.ts";
import { colorsFor } from "./render.ts";

function program(): Command {
  const p = new Command("a4c")
    .description("A4C from the command line: workspaces, images, jobs and operations, through the front door")
    .version(pkg.version, "-V, --version")
    .option("--json", "print the result as JSON (for scripts); errors as JSON on stderr")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  p.addHelpText(
    "after",
    `
Quick start:
  a4c login --url http://127.0.0.1:3004          (asks for the token)
  a4c ws create backend-api --wait
  a4c jobs status:completed
  a4c jobs show <jobId>
  a4c images ls

Environment: A4C_URL and A4C_TOKEN override the stored login; NO_COLOR turns colours off;
A4C_DEBUG=1 logs each HTTP attempt (with its Idempotency-Key) on stderr.

Exit codes: 0 ok · 1 an operation or job failed · 2 usage (or a request refused as given: 400,
404, 409, 422) · 3 cannot reach the server, not allowed (401, 403) or still 503/429 after ~60 s
of retries · 130 stopped waiting with Ctrl-C (the work goes on).`,
  );
  registerSession(p);
  registerWs(p);
  registerImages(p);
  registerJobs(p);
  registerOp(p);
  registerAdmin(p);
  registerUsers(p);
  registerTokens(p);
  registerSchedules(p);
  return p;
}

function report(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // commander has printed its message (or the help) already.
    return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version"
      ? EXIT.ok
      : EXIT.usage;
  }
  const known = err instanceof CliError;
  const title = known ? err.message : "Unexpected error";
  const detail = known ? err.detail : err instanceof Error ? err.message : String(err);
  if (json) {
    const status = err instanceof ProblemError ? err.status : undefined;
    process.stderr.write(`${JSON.stringify({ error: { title, detail, status } })}\n`);
  } else {
    const c = colorsFor(process.stderr);
    process.stderr.write(`${c.red(c.bold("error:"))} ${title}${detail ? ` — ${detail}` : ""}\n`);
  }
  if (process.env.A4C_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return known ? err.exitCode : EXIT.failed;
}

const argv = process.argv;
try {
  await program().parseAsync(argv);
} catch (err) {
  process.exitCode = report(err, argv.includes("--json"));
}
