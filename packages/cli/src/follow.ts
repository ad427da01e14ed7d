/**
 * `--wait`: follows an operation and then its job over the status event stream
 * (`GET /status/:id/events?follow=job`) until both are final, reading the job's record whenever
 * it moves so every step is reported (steps.ts). A dropped stream is opened again: it starts with
 * the current status, so nothing is lost. Ctrl-C stops the waiting, never the work.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { isSettled, isTerminalJob, type Job, type OperationView } from "./api.ts";
import type { ApiClient } from "./client.ts";
import { UnreachableError } from "./errors.ts";
import type { Progress } from "./progress.ts";
import { StepTracker } from "./steps.ts";

export interface Followed {
  view: OperationView;
  job: Job | null;
}

/** Drops in a row (without an event in between) before we give up on the stream. */
const MAX_DROPS = 10;

export interface FollowOptions {
  /** Run before each read of the job (a build's log is printed up to now, before the step that wrote it). */
  beforeJobRead?: () => Promise<void>;
}

export async function follow(
  client: ApiClient,
  operationId: string,
  progress: Progress,
  options: FollowOptions = {},
): Promise<Followed> {
  const stop = new AbortController();
  const onInterrupt = () => {
    // Synchronously: the spinner's own handler exits the process right after ours.
    progress.close();
    process.stderr.write(
      `\nStopped waiting; the operation and its job go on.\nResume with: a4c op ${operationId} --wait\n`,
    );
    process.exit(130);
  };
  process.on("SIGINT", onInterrupt);
  try {
    return await followUntilSettled(client, operationId, progress, stop.signal, options);
  } finally {
    process.off("SIGINT", onInterrupt);
    progress.close();
  }
}

async function followUntilSettled(
  client: ApiClient,
  operationId: string,
  progress: Progress,
  signal: AbortSignal,
  options: FollowOptions,
): Promise<Followed> {
  const steps = new StepTracker();
  let last: OperationView | null = null;
  let jobSeen = "";
  const readJob = async (id: string): Promise<Job> => {
    await options.beforeJobRead?.();
    const job = await client.get<Job>(`/v1/jobs/${id}`);
    for (const e of steps.update(job.steps)) progress.step(e);
    return job;
  };
  for await (const view of statusEvents(client, operationId, signal)) {
    if (last?.status !== view.status) progress.operation(view);
    last = view;
    if (view.job) {
      const where = `${view.job.status}/${view.job.step ?? ""}`;
      if (where !== jobSeen) {
        if (!jobSeen.startsWith(`${view.job.status}/`) && !isTerminalJob(view.job.status)) progress.job(view.job);
        jobSeen = where;
        await readJob(view.job.id);
      }
    }
    if (isSettled(view)) break;
  }
  if (!last) throw new UnreachableError("The status stream ended before it said anything");
  if (!last.job) return { view: last, job: null };
  // The job's record may lag the stream a moment (a cached read): wait until it shows the end.
  const deadline = Date.now() + 5_000;
  let job = await readJob(last.job.id);
  while (job.status !== last.job.status && Date.now() < deadline) {
    await Bun.sleep(200);
    job = await readJob(last.job.id);
  }
  return { view: last, job };
}

/** Every status the stream sends, reconnecting when it drops before the operation is settled. */
export async function* statusEvents(
  client: ApiClient,
  operationId: string,
  signal: AbortSignal,
): AsyncGenerator<OperationView> {
  let drops = 0;
  for (;;) {
    const path = `/status/${encodeURIComponent(operationId)}/events`;
    const response = await client.stream(path, signal, { follow: "job" });
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as ReadableStream<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        for (const event of events.splice(0)) {
          if (event.event !== "status") continue;
          drops = 0;
          const view = JSON.parse(event.data) as OperationView;
          yield view;
          if (isSettled(view)) return;
        }
      }
    } catch (err) {
      if (signal.aborted) throw err;
    }
    if (++drops > MAX_DROPS) throw new UnreachableError("The status stream keeps closing", `operation ${operationId}`);
    await Bun.sleep(Math.min(250 * drops, 2_000));
  }
}
