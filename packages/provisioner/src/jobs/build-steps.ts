/**
 * The steps of an IMAGE_BUILD job, each idempotent like the workspace steps:
 *   place → build
 * `place` picks the build host (the least disk used, a reservation held while it builds); `build`
 * sends the Dockerfile and files as a tar context to that host's dockerd over SSH, streams the
 * output into the job's log, and records the image's digest, size and host. A build found on the
 * host already (by its tag and image-id label: a run that crashed after building) is not redone.
 * Other hosts get the image when a workspace needs it there (`image_transfer`, workspace-steps.ts).
 */

import { Readable } from "node:stream";
import {
  addImageHost,
  appendJobLog,
  type ClaimedJob,
  getBuild,
  lastLogLines,
  placeWithReservation,
  type RunningJob,
  recordBuilt,
} from "@a4c/shared";
import { pack } from "tar-stream";
import { chooseHost, noRoomNote } from "../disk/placement.ts";
import { BuildFailedError, BuildTimeoutError, LABELS } from "../hosts/docker-runtime.ts";
import { NoRoomError, StepFailedError } from "./errors.ts";
import type { StepDeps, StepResult } from "./workspace-steps.ts";

export const BUILD_STEPS = ["place", "build"] as const;

/** Lines of a failed build's output quoted in the job's error (the whole log is at /v1/jobs/:id/log). */
const FAILURE_TAIL_LINES = 15;
/** What one build may write to its log; past it, one line says so and the rest is dropped. */
export const LOG_LIMITS = { lines: 10_000, bytes: 5 * 1024 * 1024, lineChars: 4_000 } as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences (CSI, OSC) start with ESC.
const ESCAPE_SEQUENCE = /\u001b(\[[0-9;?]*[ -/]*[@-~]|\][^\u0007\u001b]*(\u0007|\u001b\\)?)/g;

/**
 * A build's output line as it is stored and shown: terminal escapes and control characters
 * removed (PostgreSQL refuses NUL; a terminal would obey the rest), tabs kept, length bounded. Pure.
 */
export function cleanLogLine(text: string): string {
  const clean = text.replace(ESCAPE_SEQUENCE, "").replace(CONTROL, "");
  return clean.length > LOG_LIMITS.lineChars ? `${clean.slice(0, LOG_LIMITS.lineChars)}…` : clean;
}

/** A tar stream of the build context: the Dockerfile and the files, as sent. */
export function buildContext(dockerfile: string, files: Record<string, string>): Readable {
  const tar = pack();
  tar.entry({ name: "Dockerfile", mode: 0o644 }, dockerfile);
  for (const [path, text] of Object.entries(files)) tar.entry({ name: path, mode: 0o644 }, text);
  tar.finalize();
  // tar-stream's streams are streamx ones; dockerode pipes a Node stream into its request.
  return Readable.from(tar);
}

async function buildOf(d: StepDeps, job: ClaimedJob) {
  if (!job.image_id) throw new StepFailedError("not_found", "the build names no image");
  const image = await getBuild(d.sql, job.image_id);
  if (!image) throw new StepFailedError("not_found", "the image of this build no longer exists");
  return image;
}

async function buildHost(d: StepDeps, job: ClaimedJob) {
  const [row] = await d.sql<{ host_id: string | null }[]>`SELECT host_id::text FROM job WHERE id = ${job.id}`;
  if (!row?.host_id) throw new StepFailedError("not_placed", "the build has no host (place did not run)");
  return d.pool.get(row.host_id);
}

/**
 * Collects output lines and writes them to the job's log in batches, in order, up to LOG_LIMITS
 * per build (then one line says the rest was dropped: a build printing without end must not fill
 * PostgreSQL, nor the provisioner's memory while the writes wait).
 */
class LogWriter {
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval>;
  #bytes = 0;
  #cut = false;
  count = 0;

  constructor(
    private readonly d: StepDeps,
    private readonly jobId: string,
    private readonly step: string,
  ) {
    this.#timer = setInterval(() => this.#flush(), 250);
  }

  line(text: string): void {
    this.count++;
    if (this.#cut) return;
    const line = cleanLogLine(text);
    this.#bytes += Buffer.byteLength(line) + 1;
    if (this.count > LOG_LIMITS.lines || this.#bytes > LOG_LIMITS.bytes) {
      this.#cut = true;
      this.#pending.push(`# log cut: more than ${LOG_LIMITS.lines} lines or ${LOG_LIMITS.bytes / 1048576} MiB`);
    } else {
      this.#pending.push(line);
    }
    if (this.#pending.length >= 200) this.#flush();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const lines = this.#pending;
    this.#pending = [];
    this.#writing = this.#writing
      .then(() => appendJobLog(this.d.sql, this.jobId, this.step, lines))
      .catch((err) => this.d.log.warn({ event: "job_log.write_failed", jobId: this.jobId, err }));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#flush();
    await this.#writing;
  }
}

export const buildSteps: Record<(typeof BUILD_STEPS)[number], (d: StepDeps, job: RunningJob) => Promise<StepResult>> = {
  async place(d, job) {
    const need = d.limits.buildDiskBytes;
    let reasons: Record<string, string> = {};
    const { hostId, candidates } = await placeWithReservation(
      d.sql,
      { jobId: job.id, workspaceId: null, bytes: need, exclude: [] },
      (hosts) => {
        if (job.host_id && hosts.some((h) => h.id === job.host_id && h.state === "active")) return job.host_id;
        const decision = chooseHost(hosts, need);
        reasons = decision.reasons;
        return decision.hostId;
      },
    );
    if (!hostId) throw new NoRoomError(noRoomNote({ hostId: null, reasons }, need, candidates.length));
    const chosen = candidates.find((c) => c.id === hostId);
    return `builds on ${chosen?.name ?? hostId}, the least used of ${candidates.filter((c) => c.state === "active").length} active hosts`;
  },

  async build(d, job) {
    const image = await buildOf(d, job);
    const host = await buildHost(d, job);
    const found = await host.runtime.image(image.tag);
    if (found && found.labels[LABELS.image] === image.id) {
      await recordBuilt(
        d.sql,
        image.id,
        { digest: found.id, sizeBytes: found.sizeBytes },
        { jobId: job.id, owner: job.owner },
      );
      await addImageHost(d.sql, image.id, host.row.id, "built");
      return `found ${image.tag} on ${host.row.name} (built before a restart): ${found.id.slice(0, 19)}`;
    }
    const log = new LogWriter(d, job.id, "build");
    log.line(`# building ${image.tag} on ${host.row.name} (attempt ${job.attempts}, no network)`);
    const started = performance.now();
    try {
      await host.runtime.build(
        buildContext(image.dockerfile, image.files),
        {
          tag: image.tag,
          labels: { [LABELS.image]: image.id, [LABELS.job]: job.id, [LABELS.deployment]: d.limits.deployment },
          memoryBytes: d.limits.buildMemoryBytes,
          cpus: d.limits.buildCpus,
        },
        (line) => log.line(line),
      );
    } catch (err) {
      await log.close();
      // The build's own doing: it fails for good, and its host is not to blame.
      if (err instanceof BuildTimeoutError) throw new StepFailedError("build_timeout", err.message);
      if (!(err instanceof BuildFailedError)) throw err;
      const tail = await lastLogLines(d.sql, job.id, "build", FAILURE_TAIL_LINES);
      throw new StepFailedError("build_failed", `${err.message}\n${tail.join("\n")}`);
    }
    await log.close();
    const built = await host.runtime.image(image.tag);
    if (!built) throw new StepFailedError("build_failed", `the build ended but ${host.row.name} has no ${image.tag}`);
    await recordBuilt(
      d.sql,
      image.id,
      { digest: built.id, sizeBytes: built.sizeBytes },
      { jobId: job.id, owner: job.owner },
    );
    await addImageHost(d.sql, image.id, host.row.id, "built");
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return `built ${image.tag} on ${host.row.name} in ${seconds} s: ${built.id.slice(0, 19)}, ${(built.sizeBytes / 1048576).toFixed(1)} MiB, ${log.count} log lines`;
  },
};
