/**
 * The job runner: workers claim jobs from PostgreSQL under a lease (any number of provisioners,
 * never two on one job), keep the lease alive while they work, and run the job's steps from the
 * first one not done — so a job taken over from a dead provisioner resumes where it stopped.
 * Between steps the cancel flag is read. What a failure leads to is decided in `#onFailure`.
 */
import {
  beginRun,
  type ClaimedJob,
  cancelRequested,
  claimJob,
  classifyPgError,
  ensureSteps,
  finishJob,
  getWorkspace,
  holdJob,
  type JobEnd,
  LeaseLostError,
  type Logger,
  type RunningJob,
  renewLease,
  type Sql,
  setStep,
  unplace,
  waitForHost,
} from "@a4c/shared";
import type { DiskService } from "../disk/disk-service.ts";
import { DockerRefusedError } from "../hosts/docker-runtime.ts";
import { HostUnreachableError } from "../hosts/ssh-connection.ts";
import type { ProvisionerMetrics } from "../metrics.ts";
import { BUILD_STEPS, buildSteps } from "./build-steps.ts";
import { backoffMs, NoRoomError, StepFailedError } from "./errors.ts";
import {
  CREATE_STEPS,
  compensateCreate,
  createSteps,
  DELETE_STEPS,
  deleteSteps,
  type StepDeps,
  type StepName,
} from "./workspace-steps.ts";

export interface RunnerOptions {
  owner: string;
  concurrency: number;
  /** Of those, how many may be image builds: long builds must not hold every worker. */
  buildConcurrency: number;
  leaseMs: number;
  pollMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  placementRetryMs: number;
  /** Fault injection (tests only): hang after this step's work, before recording it. */
  hangAfterStep?: string | undefined;
}

type StepFn = (d: StepDeps, job: RunningJob) => Promise<string>;

/** A claimed job and the lease owner of this run (one token per run, so two workers of one process never pass each other's fence). */
type Run = RunningJob;

function plan(job: ClaimedJob): Array<[StepName, StepFn]> {
  switch (job.type) {
    case "WORKSPACE_CREATE":
      return CREATE_STEPS.map((s) => [s, createSteps[s]]);
    case "WORKSPACE_DELETE":
      return DELETE_STEPS.map((s) => [s, deleteSteps[s]]);
    case "IMAGE_BUILD":
      return BUILD_STEPS.map((s) => [s, buildSteps[s]]);
  }
}

/** Jobs that begin by finding a host: they wait, SCHEDULED, while none has room. */
const placed = (job: ClaimedJob) => job.type === "WORKSPACE_CREATE" || job.type === "IMAGE_BUILD";

export class JobRunner {
  #stopping = false;
  readonly #workers: Promise<void>[] = [];
  /** Builds this instance runs now, at most `buildConcurrency`. */
  #builds = 0;

  constructor(
    private readonly sql: Sql,
    private readonly deps: StepDeps,
    private readonly disk: DiskService,
    private readonly metrics: ProvisionerMetrics,
    private readonly log: Logger,
    private readonly o: RunnerOptions,
  ) {}

  start(): void {
    for (let i = 0; i < this.o.concurrency; i++) this.#workers.push(this.#work(i));
  }

  /** Stops claiming; jobs in flight finish their current step and are held for a quick resume. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#workers);
  }

  async #work(worker: number): Promise<void> {
    while (!this.#stopping) {
      let job: Run | null = null;
      // A build slot is taken before the claim (so two workers never both take the last one) and
      // kept only if a build was claimed, until it ends.
      const slot = this.#builds < this.o.buildConcurrency;
      if (slot) this.#builds++;
      try {
        const owner = `${this.o.owner}/${crypto.randomUUID().slice(0, 8)}`;
        const claimed = await claimJob(this.sql, owner, this.o.leaseMs, slot);
        job = claimed ? { ...claimed, owner } : null;
      } catch (err) {
        this.log.warn({ event: "claim.failed", worker, err });
      }
      const building = slot && job?.type === "IMAGE_BUILD";
      if (slot && !building) this.#builds--;
      if (!job) {
        await Bun.sleep(this.o.pollMs);
        continue;
      }
      this.metrics.running.inc();
      try {
        await this.run(job);
      } catch (err) {
        // PostgreSQL went away mid-run: the lease expires and a provisioner resumes the job.
        this.log.error({ event: "job.run_failed", jobId: job.id, pg: classifyPgError(err), err });
      } finally {
        this.metrics.running.dec();
        if (building) this.#builds--;
      }
    }
  }

  /** Runs one claimed job to its end, a hold, or the loss of its lease. */
  async run(job: Run): Promise<void> {
    const log = this.log.child({ jobId: job.id, type: job.type, owner: job.owner });
    const heartbeat = setInterval(
      () => {
        renewLease(this.sql, job.id, job.owner, this.o.leaseMs)
          .then((held) => {
            if (!held) log.warn({ event: "job.lease_lost" });
          })
          .catch((err) => log.warn({ event: "job.heartbeat_failed", err }));
      },
      Math.max(200, Math.floor(this.o.leaseMs / 3)),
    );
    try {
      await this.#run(job, log);
    } catch (err) {
      if (err instanceof LeaseLostError) {
        this.metrics.jobs.inc({ type: job.type, outcome: "lost" });
        log.warn({ event: "job.lease_lost" });
        return;
      }
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #run(job: Run, log: Logger): Promise<void> {
    const steps = plan(job);
    let placement: string | null = null;
    // A scheduled create or build first looks for a host; finding none changes nothing but its note.
    if (job.status === "SCHEDULED" && placed(job) && !job.cancel_requested) {
      log.info({ event: "step.started", step: "place" });
      try {
        placement = await (job.type === "IMAGE_BUILD" ? buildSteps : createSteps).place(this.deps, job);
        await this.#faultHang("place", log);
      } catch (err) {
        log.info({ event: "step.failed", step: "place", waiting: err instanceof NoRoomError });
        if (!(err instanceof NoRoomError)) throw err;
        await waitForHost(this.sql, job.id, job.owner, err.note, this.o.placementRetryMs);
        this.metrics.jobs.inc({ type: job.type, outcome: "waiting" });
        if (job.note !== err.note) log.info({ event: "job.waiting_for_host", note: err.note });
        return;
      }
    }
    const attempt = await beginRun(this.sql, job.id, job.owner);
    job.attempts = attempt;
    log.info({ event: job.status === "IN_PROGRESS" ? "job.resumed" : "job.started", attempt });
    const records = new Map(
      (
        await ensureSteps(
          this.sql,
          job.id,
          steps.map(([s]) => s),
        )
      ).map((r) => [r.name, r]),
    );
    if (attempt > this.o.maxAttempts) {
      return this.#fail(
        job,
        null,
        "gave_up",
        `gave up after ${attempt - 1} attempts; the last ended without finishing (its provisioner stopped, or its host kept failing)`,
      );
    }
    if (placement) {
      await setStep(this.sql, job.id, job.owner, "place", "running");
      await setStep(this.sql, job.id, job.owner, "place", "done", placement);
      log.info({ event: "step.done", step: "place", message: placement });
      records.delete("place");
    }
    for (const [name, fn] of steps) {
      const record = records.get(name);
      if (!record || record.status === "done" || record.status === "skipped") continue;
      if (job.type === "WORKSPACE_CREATE" && (await cancelRequested(this.sql, job.id))) {
        return this.#cancel(job, name);
      }
      if (this.#stopping) {
        return holdJob(this.sql, job.id, job.owner, 0, "its provisioner stopped; another resumes it", "IN_PROGRESS");
      }
      await setStep(this.sql, job.id, job.owner, name, "running");
      const started = performance.now();
      log.info({ event: "step.started", step: name });
      try {
        const message = await fn(this.deps, job);
        await this.#faultHang(name, log);
        await setStep(this.sql, job.id, job.owner, name, message.startsWith("skipped") ? "skipped" : "done", message);
        this.metrics.steps.observe({ step: name, outcome: "done" }, (performance.now() - started) / 1000);
        log.info({ event: "step.done", step: name, ms: Math.round(performance.now() - started), message });
      } catch (err) {
        this.metrics.steps.observe({ step: name, outcome: "failed" }, (performance.now() - started) / 1000);
        log.info({ event: "step.failed", step: name });
        return this.#onFailure(job, name, err, log);
      }
    }
    await this.#end(job, { status: "COMPLETED" }, job.type === "WORKSPACE_DELETE" ? "DELETED" : "RUNNING");
    log.info({ event: "job.completed" });
  }

  /** Fault injection (tests only): stop making progress after `step`'s work, before recording it. */
  async #faultHang(step: StepName, log: Logger): Promise<void> {
    if (this.o.hangAfterStep !== step) return;
    log.warn({ event: "fault.hang", step });
    await new Promise(() => {});
  }

  async #onFailure(job: Run, step: StepName, err: unknown, log: Logger): Promise<void> {
    if (err instanceof LeaseLostError) throw err;
    if (err instanceof NoRoomError) {
      // A resumed job re-placing after its host failed: back to SCHEDULED, waiting for a host.
      await setStep(this.sql, job.id, job.owner, step, "pending", err.note);
      await holdJob(this.sql, job.id, job.owner, this.o.placementRetryMs, err.note, "SCHEDULED");
      this.metrics.jobs.inc({ type: job.type, outcome: "waiting" });
      log.info({ event: "job.waiting_for_host", note: err.note });
      return;
    }
    if (err instanceof HostUnreachableError) {
      const host = this.deps.pool.all().find((h) => h.row.name === err.host);
      if (host) await this.disk.markUnreachable(host, err);
      if (job.attempts >= this.o.maxAttempts) {
        return this.#fail(job, step, "host_unreachable", `${err.message} (gave up after ${job.attempts} attempts)`);
      }
      const delay = backoffMs(job.attempts, this.o.retryBaseMs);
      // Nothing recorded on the host yet: forget the placement, so the retry may choose another
      // host. (A container made but not recorded before a crash is then an orphan for the
      // cleanup daemon: its workspace runs another container.)
      const replace =
        step === "place" ||
        (job.type === "IMAGE_BUILD" && step === "build") ||
        (job.type === "WORKSPACE_CREATE" &&
          step === "container_create" &&
          !(await getWorkspace(this.sql, job.workspace_id))?.container_id);
      const note = `${err.message}; retrying in ${Math.round(delay / 1000)} s${replace ? " (may be placed on another host)" : ""}`;
      if (replace) {
        await unplace(this.sql, {
          jobId: job.id,
          workspaceId: job.type === "IMAGE_BUILD" ? null : job.workspace_id,
          owner: job.owner,
          steps: ["place", step],
          note,
        });
      } else {
        await setStep(this.sql, job.id, job.owner, step, "pending", note);
      }
      await holdJob(this.sql, job.id, job.owner, delay, note, "IN_PROGRESS");
      this.metrics.jobs.inc({ type: job.type, outcome: "retried" });
      log.warn({ event: "job.retry_scheduled", step, delayMs: delay, replace, err: err.message });
      return;
    }
    const code =
      err instanceof StepFailedError ? err.code : err instanceof DockerRefusedError ? "docker_refused" : "step_failed";
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof StepFailedError || err instanceof DockerRefusedError))
      log.error({ event: "step.error", step, err });
    return this.#fail(job, step, code, `${step} failed: ${message}`);
  }

  /** A failure for good: the step recorded, what the create made undone, the job FAILED. */
  async #fail(job: Run, step: StepName | null, code: string, message: string): Promise<void> {
    if (step) await setStep(this.sql, job.id, job.owner, step, "failed", message);
    const undone = job.type === "WORKSPACE_CREATE" ? await compensateCreate(this.deps, job) : null;
    const full = undone ? `${message} (compensated: ${undone})` : message;
    // A delete that fails leaves its workspace FAILED: still listed, and deletable again.
    await this.#end(job, { status: "FAILED", code, message: full }, "FAILED");
    this.log.warn({ event: "job.failed", jobId: job.id, code, message: full });
  }

  async #cancel(job: Run, at: StepName): Promise<void> {
    const undone = await compensateCreate(this.deps, job);
    await setStep(this.sql, job.id, job.owner, at, "skipped", "canceled before this step");
    await this.#end(job, { status: "CANCELED", message: `canceled before ${at}; ${undone}` }, "DELETED");
    this.log.info({ event: "job.canceled", jobId: job.id, at });
  }

  /** Ends the job; `workspaceStatus` is its workspace's (an image build has none: its image follows the job). */
  async #end(job: Run, end: JobEnd, workspaceStatus: "RUNNING" | "FAILED" | "DELETED"): Promise<void> {
    const workspace =
      job.type === "IMAGE_BUILD"
        ? null
        : { id: job.workspace_id, status: workspaceStatus, ofCreate: job.type === "WORKSPACE_CREATE" };
    const hostId = await finishJob(this.sql, job.id, job.owner, end, workspace);
    this.metrics.jobs.inc({ type: job.type, outcome: end.status.toLowerCase() });
    // Read the host's disk again now that what the job held there is released or in use.
    if (hostId) void this.disk.refresh(hostId).catch(() => {});
  }
}
