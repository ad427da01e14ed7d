/**
 * `a4c images build|ls|show|log`: image builds (the admin or a CI token asks; one build per
 * repository and commit whatever the key) and the images anyone may run a workspace on.
 */
import type { Command } from "commander";
import type { AcceptedBuild, Image, ImagePage, Job } from "../api.ts";
import { isTerminalJob } from "../api.ts";
import { type BuildContext, MAX_CONTEXT_BYTES, MAX_CONTEXT_FILES, readBuildContext } from "../build-context.ts";
import { LogTail, logLine, pollLog } from "../build-log.ts";
import type { Context } from "../context.ts";
import { EXIT, type ExitCode, ProblemError } from "../errors.ts";
import { type Followed, follow } from "../follow.ts";
import { ago, bytes, type Colors, fields, paintStatus, table } from "../render.ts";
import { newIdempotencyKey } from "../retry.ts";
import { action, KEY_OPTION, positiveInt } from "./common.ts";
import { endLine, followedJson, outcomeCode } from "./operation.ts";

/** How often a followed build's log is read while no step changes. */
const LOG_POLL_MS = 500;

/** The tag a requested build makes (a scheduled one adds its tick): what a workspace names. */
export function buildTag(repository: string, commitSha: string): string {
  return `a4c/${repository}:${commitSha}`;
}

/** `host-2 (built), host-1 (transferred)`. */
export function hostsText(hosts: Image["hosts"]): string {
  return hosts.map((h) => `${h.name} (${h.how})`).join(", ");
}

export function imagesTable(c: Colors, items: Image[]): string {
  return table(
    c,
    ["ID", "TAG", "STATUS", "SIZE", "HOSTS", "CREATED"],
    items.map((i) => [
      i.id,
      i.tag,
      paintStatus(c, i.status),
      i.sizeBytes === null ? null : bytes(i.sizeBytes),
      i.hosts.map((h) => h.name).join(","),
      ago(i.createdAt),
    ]),
  );
}

export function imageLines(c: Colors, i: Image): string {
  return fields(c, [
    ["image", i.id],
    ["tag", i.tag],
    ["status", paintStatus(c, i.status)],
    ["repository", i.repository],
    ["commit", i.commitSha],
    ["ref", i.ref],
    ["digest", i.digest],
    ["size", i.sizeBytes === null ? null : bytes(i.sizeBytes)],
    ["hosts", hostsText(i.hosts)],
    ["job", i.jobId],
    ["schedule", i.scheduleId],
    ["created", `${i.createdAt} (${ago(i.createdAt)})`],
    ["built", i.builtAt ? `${i.builtAt} (${ago(i.builtAt)})` : null],
  ]);
}

/** The image in one line, after a --wait. */
export function imageSummary(c: Colors, i: Image): string {
  const where = [
    i.sizeBytes === null ? null : bytes(i.sizeBytes),
    i.hosts.length ? `on ${i.hosts.map((h) => h.name).join(", ")}` : null,
    i.digest ? `(${i.digest.slice(0, 19)})` : null,
  ].filter(Boolean);
  return `Image ${i.tag} is ${paintStatus(c, i.status)}${where.length ? ` — ${where.join(" ")}` : ""}`;
}

/** What is sent, in words: `the Dockerfile and 2 files, 1.2 KiB`. */
export function contextSummary(b: BuildContext): string {
  const n = Object.keys(b.files).length;
  const files = n === 0 ? "the Dockerfile" : `the Dockerfile and ${n} file${n === 1 ? "" : "s"}`;
  return `${files}, ${bytes(b.bytes)}`;
}

function showImage(ctx: Context, id: string): Promise<Image> {
  return ctx.client.get<Image>(`/v1/images/${encodeURIComponent(id)}`);
}

/** The image once it has left BUILDING (its job may end a moment before the image says so). */
async function settledImage(ctx: Context, id: string): Promise<Image> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const i = await showImage(ctx, id);
    if (i.status !== "BUILDING" || Date.now() > deadline) return i;
    await Bun.sleep(200);
  }
}

interface BuildOptions {
  dockerfile: string;
  context?: string;
  ref?: string;
  wait?: boolean;
  idempotencyKey?: string;
}

async function build(ctx: Context, repository: string, commitSha: string, o: BuildOptions) {
  // Read and checked before anything is sent: a context the gateway would refuse fails here.
  const context = readBuildContext(o.dockerfile, o.context);
  if (context.skipped.length > 0) {
    ctx.notice(`Not sent: ${context.skipped.map((s) => `${s.path} (${s.why})`).join(", ")}`);
  }
  const key = o.idempotencyKey ?? newIdempotencyKey();
  const body = {
    repository,
    commitSha,
    dockerfile: context.dockerfile,
    ...(Object.keys(context.files).length > 0 ? { files: context.files } : {}),
    ...(o.ref ? { ref: o.ref } : {}),
  };
  const a = await ctx.client.post<AcceptedBuild>("/v1/images/builds", key, body);
  const tag = buildTag(repository, commitSha);
  if (!o.wait) {
    if (ctx.json) return ctx.printJson({ ...a, tag });
    ctx.print(`${ctx.c.green("✔")} Build of ${ctx.c.bold(tag)} requested (${contextSummary(context)})`);
    ctx.print(
      fields(ctx.c, [
        ["operation", a.operationId],
        ["image", a.imageId],
        ["job", a.jobId],
      ]),
    );
    ctx.print(ctx.c.dim(`Follow it with: a4c images log ${a.jobId} --follow`));
    return EXIT.ok;
  }
  if (!ctx.json) ctx.print(`Building ${ctx.c.bold(tag)} (image ${a.imageId}) from ${contextSummary(context)}`);
  return waitForBuild(ctx, a, tag);
}

/**
 * Follows the build's operation and job over the status stream (steps as they end), printing the
 * build's log as it is written: read every half second, and up to date before each step is
 * reported. 0 when the image is READY, 1 when the operation, the job or the image failed.
 */
async function waitForBuild(ctx: Context, a: AcceptedBuild, tag: string): Promise<ExitCode> {
  const progress = ctx.progress();
  const tail = ctx.json ? null : new LogTail(ctx.client, a.jobId, (l) => progress.note(logLine(ctx.c, l)));
  const stopPolling = tail ? pollLog(tail, LOG_POLL_MS) : async () => {};
  let followed: Followed;
  try {
    followed = await follow(ctx.client, a.operationId, progress, {
      beforeJobRead: async () => {
        await tail?.drain().catch(() => {});
      },
    });
  } finally {
    await stopPolling();
  }
  await tail?.drain().catch((err) => ctx.notice(`The build's log could not be read: ${(err as Error).message}`));
  if (!ctx.json) ctx.print(endLine(ctx.c, followed));
  let code = outcomeCode(followed.view, followed.job);
  const image = followed.view.status === "failed" ? null : await settledImage(ctx, a.imageId).catch(() => null);
  if (code === EXIT.ok && image && (image.status === "FAILED" || image.status === "REMOVED")) code = EXIT.failed;
  if (ctx.json) {
    ctx.printJson({ ...a, tag, ...followedJson(followed), image });
    return code;
  }
  if (image) ctx.print(imageSummary(ctx.c, image));
  if (image?.status === "READY") ctx.print(ctx.c.dim(`Run it: a4c ws create <project> --image ${image.tag}`));
  return code;
}

async function list(ctx: Context, o: { repository?: string; status?: string; limit: number; cursor?: string }) {
  const page = await ctx.client.get<ImagePage>("/v1/images", {
    repository: o.repository,
    status: o.status,
    limit: o.limit,
    cursor: o.cursor,
  });
  if (ctx.json) return ctx.printJson(page);
  if (page.items.length === 0) {
    const filtered = o.repository || o.status;
    ctx.print(
      ctx.c.dim(filtered ? "No images match." : "No images yet. Build one: a4c images build <repository> <commitSha>"),
    );
  } else ctx.print(imagesTable(ctx.c, page.items));
  if (page.cursor) {
    const again = [
      "a4c images ls",
      o.repository ? `--repository ${o.repository}` : "",
      o.status ? `--status ${o.status}` : "",
      o.limit !== 50 ? `--limit ${o.limit}` : "",
      `--cursor ${page.cursor}`,
    ];
    ctx.notice(`More: ${again.filter(Boolean).join(" ")}`);
  }
}

/** An image's build job, given the image's id or the job's own. */
async function buildJobOf(ctx: Context, id: string): Promise<string> {
  try {
    return (await showImage(ctx, id)).jobId;
  } catch (err) {
    if (err instanceof ProblemError && err.status === 404) return id;
    throw err;
  }
}

async function log(ctx: Context, id: string, o: { follow?: boolean }) {
  const jobId = await buildJobOf(ctx, id);
  const lines: Array<{ id: string; step: string; line: string; at: string }> = [];
  const tail = new LogTail(ctx.client, jobId, (l) => {
    if (ctx.json) lines.push(l);
    else ctx.print(l.line);
  });
  const readJob = () => ctx.client.get<Job>(`/v1/jobs/${encodeURIComponent(jobId)}`);
  let job: Job;
  try {
    job = await readJob();
  } catch (err) {
    if (err instanceof ProblemError && err.status === 404) {
      throw new ProblemError(404, "No such image or job", `${id} is neither an image nor a job you may read`);
    }
    throw err;
  }
  await tail.drain();
  while (o.follow && !isTerminalJob(job.status)) {
    await Bun.sleep(LOG_POLL_MS);
    job = await readJob();
    await tail.drain();
  }
  if (ctx.json) ctx.printJson({ jobId, status: job.status, lines });
  else if (tail.count === 0) ctx.notice(`No log lines${isTerminalJob(job.status) ? "" : " yet"} (job ${jobId})`);
  if (o.follow && !ctx.json)
    ctx.notice(`Job ${job.status}${job.error ? ` — ${job.error.code}: ${job.error.message ?? ""}` : ""}`);
  return o.follow && job.status !== "COMPLETED" ? EXIT.failed : EXIT.ok;
}

export function registerImages(program: Command): void {
  const images = program
    .command("images")
    .description("build images (admin or CI token) and list them; a workspace runs one by its tag")
    .addHelpText(
      "after",
      `
Examples:
  a4c images build team/app 3f2c9a0e1b7d4c6a8e5f1b2c9d8e7f6a5b4c3d2e --dockerfile Dockerfile --context . --wait
  a4c images ls --repository team/app --status ready
  a4c images show <imageId>
  a4c images log <imageId|jobId> --follow
  a4c ws create backend-api --image a4c/team/app:3f2c9a0e1b7d4c6a8e5f1b2c9d8e7f6a5b4c3d2e --wait`,
    );

  images
    .command("build <repository> <commitSha>")
    .description("build an image of a commit on a host (asynchronous; --wait follows it to READY)")
    .requiredOption("--dockerfile <path>", "the Dockerfile to build")
    .option("--context <dir>", "send the files under this folder too (without it, only the Dockerfile)")
    .option("--ref <ref>", "the branch or tag the commit is on (what schedules rebuild)")
    .option("--wait", "follow the build, printing its log, until the image is READY or FAILED")
    .option(...KEY_OPTION)
    .addHelpText(
      "after",
      `
The repository is a lowercase Docker repository path (team/app); the commit a full SHA (40 or
64 lowercase hex digits). The image is tagged a4c/<repository>:<commitSha>. One build per
repository and commit: asking again answers the same build (and builds nothing).

The context holds text files only: at most ${MAX_CONTEXT_FILES} files and ${bytes(MAX_CONTEXT_BYTES)} with the Dockerfile; .git,
symbolic links and the context's own root Dockerfile are not sent.

Exit code 0 when the image is READY, 1 when the build failed (its error is printed), 2 when the
request is refused as given (a bad repository, SHA, path, or a context too large).

Examples:
  a4c images build team/app $(git rev-parse HEAD) --dockerfile Dockerfile --context . --ref main --wait
  A4C_TOKEN=<ci token> a4c images build team/app <sha> --dockerfile Dockerfile --json`,
    )
    .action(action(build));

  images
    .command("ls")
    .description("list images, newest first")
    .option("--repository <repository>", "only this repository's")
    .option("--status <status>", "only building, ready, failed or removed ones")
    .option("--limit <n>", "at most this many per page (1-200)", positiveInt, 50)
    .option("--cursor <cursor>", "the next page, as printed after a full page")
    .action(action(list));

  images
    .command("show <imageId>")
    .description("show one image: tag, status, digest, size, hosts and its build job")
    .action(
      action(async (ctx, id: string) => {
        const i = await showImage(ctx, id);
        if (ctx.json) ctx.printJson(i);
        else {
          ctx.print(imageLines(ctx.c, i));
          ctx.notice(`Its build's log: a4c images log ${i.id}`);
        }
        return EXIT.ok;
      }),
    );

  images
    .command("log <id>")
    .description("print an image's build log (given the image's id or its build job's)")
    .option("--follow", "keep printing until the build ends (exit 1 if it did not complete)")
    .action(action(log));
}
