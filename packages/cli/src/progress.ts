/**
 * What `--wait` shows while it follows an operation: on a terminal a spinner on the current step
 * with its elapsed time, each finished step left behind as a line; elsewhere (a pipe, a CI log)
 * plain lines only, one per change. With --json nothing is shown: the result is the output.
 */
import { createSpinner, type Spinner } from "nanospinner";
import type { OperationView } from "./api.ts";
import { type Colors, duration, paintStatus, shortId } from "./render.ts";
import { type StepEvent, stepLine } from "./steps.ts";

export interface Progress {
  operation(v: OperationView): void;
  job(job: { id: string; status: string }): void;
  step(e: StepEvent): void;
  /** A line of output that goes between the steps (a build's log), not over the spinner. */
  note(text: string): void;
  /** Stops any spinner and leaves the terminal as it was. */
  close(): void;
}

type Write = (text: string) => void;

export function silentProgress(): Progress {
  return { operation() {}, job() {}, step() {}, note() {}, close() {} };
}

export function plainProgress(write: Write, c: Colors): Progress {
  return {
    operation(v) {
      if (v.status === "pending") write(`operation ${v.operationId}: pending`);
      else if (v.status === "failed") write(`operation ${v.operationId}: ${c.red("failed")}`);
      else write(`operation ${v.operationId}: ${v.status}`);
    },
    job(job) {
      write(`job ${job.id}: ${paintStatus(c, job.status)}`);
    },
    step(e) {
      if (e.kind === "finished") write(stepLine(c, e.step, false));
    },
    note(text) {
      write(text);
    },
    close() {},
  };
}

const WAITING: Record<string, string> = {
  pending: "Waiting for the operation to be processed",
  SCHEDULED: "Scheduled; waiting for a provisioner",
  IN_PROGRESS: "Starting",
};

/**
 * The spinner counts the lines it drew by the terminal's width; a terminal that does not report
 * one (width 0) would make it clear lines for ever. So it sees at least 80 columns.
 */
function withWidth(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === "columns") return target.columns > 0 ? target.columns : 80;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export function ttyProgress(stream: NodeJS.WriteStream, c: Colors): Progress {
  let spinner: Spinner | null = null;
  let label = "";
  let since = Date.now();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const text = () => `${label} ${c.dim(duration(Date.now() - since))}`;
  const show = (what: string, from: number) => {
    label = what;
    since = from;
    if (!spinner) {
      spinner = createSpinner(text(), { stream: withWidth(stream), interval: 80 }).start();
      ticker = setInterval(() => spinner?.update(text()), 100);
    } else spinner.update(text());
  };
  const line = (s: string) => {
    if (spinner) spinner.clear();
    stream.write(`${s}\n`);
    if (spinner) spinner.render();
  };
  return {
    operation(v) {
      if (v.status === "pending") show(WAITING.pending as string, Date.now());
      else if (v.status === "failed") line(`${c.red("✖")} operation ${shortId(v.operationId)} failed`);
    },
    job(job) {
      const waiting = WAITING[job.status];
      if (waiting) show(`${waiting} ${c.dim(`(job ${shortId(job.id)})`)}`, Date.now());
    },
    step(e) {
      if (e.kind === "started") {
        const started = e.step.startedAt ? Date.parse(e.step.startedAt) : Date.now();
        show(e.step.name, Math.min(started, Date.now()));
      } else {
        line(stepLine(c, e.step, true));
        // Until the next step shows up, the spinner says only that the job goes on.
        if (label === e.step.name) show(c.dim("…"), Date.now());
      }
    },
    note(text) {
      line(text);
    },
    close() {
      clearInterval(ticker);
      if (spinner) {
        spinner.clear();
        spinner.stop();
        stream.write("\x1b[?25h");
      }
      spinner = null;
    },
  };
}
