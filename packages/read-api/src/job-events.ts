/**
 * Live job changes: PostgreSQL announces every committed change of a job (migration 0010, channel
 * `a4c_job_changed`); one LISTEN connection per read-api fans them out to the open event streams
 * (GET /v1/jobs/events). Notifications sent while the connection was down are lost, so each
 * (re)connect after the first tells every stream to `resync`: its client reads afresh.
 */
import type { Logger, Sql } from "@a4c/shared";
import type { JobChange } from "@a4c/shared/answers";

export const JOB_CHANNEL = "a4c_job_changed";

/** What a notification says of a job (no secrets: which job, whose, and where it is). */
export type { JobChange };

/** `end`: this instance is shutting down; streams close (their clients reconnect elsewhere). */
export type JobEvent = { kind: "job"; change: JobChange } | { kind: "resync" } | { kind: "end" };

function parseChange(payload: string): JobChange | null {
  try {
    const c = JSON.parse(payload) as Partial<JobChange>;
    if (typeof c.id !== "string" || typeof c.status !== "string") return null;
    // An image build's change carries no user (null): only the admin's streams get it.
    if (typeof c.userId !== "string" && c.userId !== null) return null;
    return {
      id: c.id,
      userId: c.userId,
      type: String(c.type),
      status: c.status,
      step: typeof c.step === "string" ? c.step : null,
      version: Number(c.version),
    };
  } catch {
    return null;
  }
}

export class JobEvents {
  readonly #listeners = new Set<(e: JobEvent) => void>();
  #connects = 0;
  #stop: (() => Promise<void>) | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
  ) {}

  /** Starts listening; resolves once the first LISTEN is in place. */
  async start(): Promise<void> {
    const listening = await this.sql.listen(
      JOB_CHANNEL,
      (payload) => {
        const change = parseChange(payload);
        if (!change) return void this.log.warn({ event: "job_events.unreadable" });
        this.#emit({ kind: "job", change });
      },
      () => {
        // Called on every (re)connect: after the first, changes may have been missed meanwhile.
        if (this.#connects++ > 0) {
          this.log.info({ event: "job_events.relistening", streams: this.#listeners.size });
          this.#emit({ kind: "resync" });
        }
      },
    );
    this.#stop = () => listening.unlisten();
  }

  get streams(): number {
    return this.#listeners.size;
  }

  subscribe(listener: (e: JobEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(e: JobEvent): void {
    for (const listener of this.#listeners) listener(e);
  }

  async stop(): Promise<void> {
    this.#emit({ kind: "end" });
    this.#listeners.clear();
    await this.#stop?.().catch(() => {});
  }
}
