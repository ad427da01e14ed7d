import type { Logger } from "./logger.ts";

type Handler = { name: string; run: () => Promise<void> | void };

/**
 * Runs named shutdown handlers in registration order (stop HTTP, stop fetching, drain, close),
 * each bounded by what is left of one deadline. A second signal forces exit.
 */
export class ShutdownManager {
  readonly #handlers: Handler[] = [];
  #shuttingDown = false;

  constructor(
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {}

  get isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  register(name: string, run: Handler["run"]): void {
    this.#handlers.push({ name, run });
  }

  listen(signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): void {
    for (const signal of signals) {
      process.on(signal, () => {
        if (this.#shuttingDown) {
          this.log.warn({ event: "shutdown.forced", signal });
          process.exit(130);
        }
        void this.shutdown(signal).then((code) => process.exit(code));
      });
    }
  }

  async shutdown(reason: string): Promise<number> {
    this.#shuttingDown = true;
    const deadline = Date.now() + this.timeoutMs;
    this.log.info({ event: "shutdown.start", reason, handlers: this.#handlers.map((h) => h.name) });
    let code = 0;
    for (const h of this.#handlers) {
      const left = deadline - Date.now();
      const started = Date.now();
      try {
        await Promise.race([
          Promise.resolve(h.run()),
          new Promise((_, reject) => setTimeout(() => reject(new Error("deadline exceeded")), Math.max(left, 1))),
        ]);
        this.log.info({ event: "shutdown.step", step: h.name, ms: Date.now() - started });
      } catch (err) {
        code = 1;
        this.log.error({ event: "shutdown.step_failed", step: h.name, err });
      }
    }
    this.log.info({ event: "shutdown.done", code });
    return code;
  }
}
