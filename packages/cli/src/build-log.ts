/**
 * A job's log (a build's output, `GET /v1/jobs/:id/log`), read page by page from where the last
 * read stopped: each line printed once, in order, whoever asks (a poller while a build runs, the
 * follower before it reports a step, a last read at the end) — reads run one after another.
 */
import type { JobLog, LogLine } from "./api.ts";
import type { RequestOptions } from "./client.ts";
import type { Colors } from "./render.ts";

/** Lines per read: the API's default page; a long build's backlog comes in a few reads. */
export const LOG_PAGE = 500;

export interface LogReader {
  get<T>(path: string, query?: RequestOptions["query"]): Promise<T>;
}

export class LogTail {
  #after: string | null = null;
  #chain: Promise<void> = Promise.resolve();
  #count = 0;

  constructor(
    private readonly client: LogReader,
    readonly jobId: string,
    private readonly print: (line: LogLine) => void,
  ) {}

  /** How many lines were printed so far. */
  get count(): number {
    return this.#count;
  }

  /** Reads and prints every line written since the last read; after the reads already asked for. */
  drain(): Promise<void> {
    const next = this.#chain.then(() => this.#read());
    this.#chain = next.catch(() => {});
    return next;
  }

  async #read(): Promise<void> {
    for (;;) {
      const page = await this.client.get<JobLog>(`/v1/jobs/${encodeURIComponent(this.jobId)}/log`, {
        after: this.#after ?? undefined,
        limit: LOG_PAGE,
      });
      for (const line of page.lines) {
        this.print(line);
        this.#after = line.id;
        this.#count++;
      }
      if (page.next === null || page.lines.length === 0) return;
    }
  }
}

/** A log line while a build is followed: set off from the step lines by a bar. */
export function logLine(c: Colors, l: LogLine): string {
  return `${c.dim("  │")} ${l.line}`;
}

/**
 * Drains `tail` every `everyMs` until the returned function is called (which resolves once the
 * read under way, if any, is done; the caller then reads the rest itself). A failed read is tried
 * again at the next round: the job may not exist yet while its operation is pending.
 */
export function pollLog(tail: LogTail, everyMs: number): () => Promise<void> {
  let stopped = false;
  let wake = () => {};
  const loop = (async () => {
    while (!stopped) {
      await tail.drain().catch(() => {});
      if (stopped) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, everyMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return async () => {
    stopped = true;
    wake();
    await loop;
  };
}
