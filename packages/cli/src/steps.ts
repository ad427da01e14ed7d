/**
 * Which of a job's steps are news. The event stream says only where a job is (its status and
 * current step) and may skip a step that was quick; the job's own record lists every step with
 * its times. So each time the stream moves we read the record and report, once each, the steps
 * that started or came to an end since we last looked — in order, none missed.
 */
import type { JobStep } from "./api.ts";
import { type Colors, duration } from "./render.ts";

export type StepEvent = { kind: "started"; step: JobStep } | { kind: "finished"; step: JobStep };

const ENDED: ReadonlySet<string> = new Set(["done", "failed", "skipped", "compensated"]);

export class StepTracker {
  readonly #seen = new Map<string, string>();

  update(steps: readonly JobStep[]): StepEvent[] {
    const events: StepEvent[] = [];
    for (const step of steps) {
      if (step.status === "pending" || this.#seen.get(step.name) === step.status) continue;
      this.#seen.set(step.name, step.status);
      if (ENDED.has(step.status)) events.push({ kind: "finished", step });
      else events.push({ kind: "started", step });
    }
    return events;
  }
}

export const STEP_WIDTH = 16;

/** How long a step took (or has taken so far). */
export function stepElapsed(step: JobStep, now = Date.now()): string {
  if (!step.startedAt) return "";
  const end = step.finishedAt ? Date.parse(step.finishedAt) : now;
  return duration(Math.max(0, end - Date.parse(step.startedAt)));
}

/** `✔ container_create   1.2s  message` on a terminal; `  container_create   done  1.2s  message` in a log. */
export function stepLine(c: Colors, step: JobStep, tty: boolean): string {
  const name = step.name.padEnd(STEP_WIDTH);
  const time = stepElapsed(step).padStart(5);
  const message = step.message ? `  ${c.dim(step.message)}` : "";
  if (!tty) return `  ${name} ${step.status.padEnd(8)} ${time}${step.message ? `  ${step.message}` : ""}`;
  return `${stepMark(c, step.status)} ${name} ${time}${message}`;
}

export function stepMark(c: Colors, status: string): string {
  switch (status) {
    case "done":
      return c.green("✔");
    case "failed":
      return c.red("✖");
    case "running":
      return c.yellow("…");
    default:
      return c.dim("↷");
  }
}
