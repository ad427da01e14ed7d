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
  recordBuilt,
} from "@a4c/shared";
import { pack } from "tar-stream";
import { chooseHost, noRoomNote } from "../disk/placement.ts";
import { BuildFailedError, LABELS } from "../hosts/docker-runtime.ts";
import { NoRoomError, StepFailedError } from "./errors.ts";
import type { StepDeps, StepResult } from "./workspace-steps.ts";

export const BUILD_STEPS = ["place", "build"] as const;

/** Lines of a failed build's output quoted in the job's error (the whole log is at /v1/jobs/:id/log). */
const FAILURE_TAIL_LINES = 15;

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

/** Collects output lines and writes them to the job's log in batches, in order. */
class LogWriter {
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setInterval>;
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
    // One line is bounded: a build printing a megabyte without a newline is cut, not stored whole.
    this.#pending.push(text.length > 4000 ? `${text.slice(0, 4000)}…` : text);
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

export const buildSteps: Record<(typeof BUILD_STEPS)[number], (d: StepDeps, job: ClaimedJob) => Promise<StepResult>> = {
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
      await recordBuilt(d.sql, image.id, found.id, found.sizeBytes);
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
        },
        (line) => log.line(line),
      );
    } catch (err) {
      await log.close();
      if (!(err instanceof BuildFailedError)) throw err;
      const tail = await lastLogLines(d.sql, job.id, "build", FAILURE_TAIL_LINES);
      throw new StepFailedError("build_failed", `${err.message}\n${tail.join("\n")}`);
    }
    await log.close();
    const built = await host.runtime.image(image.tag);
    if (!built) throw new StepFailedError("build_failed", `the build ended but ${host.row.name} has no ${image.tag}`);
    await recordBuilt(d.sql, image.id, built.id, built.sizeBytes);
    await addImageHost(d.sql, image.id, host.row.id, "built");
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return `built ${image.tag} on ${host.row.name} in ${seconds} s: ${built.id.slice(0, 19)}, ${(built.sizeBytes / 1048576).toFixed(1)} MiB, ${log.count} log lines`;
  },
};
