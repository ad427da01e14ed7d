/**
 * How the CLI fails, and the exit code each failure means — decided here and nowhere else:
 *   0 ok · 1 an operation or job failed · 2 usage (bad arguments, or a request the API refused
 *   as given: 400, 404, 409, 422 …) · 3 the system cannot be reached or will not let us in
 *   (connection errors, 401, 403, 5xx, retries exhausted) · 130 interrupted while waiting.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one short message (never a stack) and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly detail?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CliError";
  }
}

export class UsageError extends CliError {
  constructor(message: string, detail?: string) {
    super(message, EXIT.usage, detail);
    this.name = "UsageError";
  }
}

/** The front door did not answer (connection refused, reset, timed out), even after retrying. */
export class UnreachableError extends CliError {
  constructor(message: string, detail?: string, options?: ErrorOptions) {
    super(message, EXIT.unreachable, detail, options);
    this.name = "UnreachableError";
  }
}

/** The user pressed Ctrl-C while waiting; the work itself goes on. */
export class InterruptedError extends CliError {
  constructor(detail: string) {
    super("Stopped waiting", EXIT.interrupted, detail);
    this.name = "InterruptedError";
  }
}

/** An application/problem+json answer (or any non-2xx one), with its title and detail. */
export class ProblemError extends CliError {
  constructor(
    readonly status: number,
    title: string,
    detail: string | undefined,
    readonly type?: string,
  ) {
    super(title, exitCodeForStatus(status), detail);
    this.name = "ProblemError";
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403 || status === 429 || status >= 500) return EXIT.unreachable;
  if (status >= 400) return EXIT.usage;
  return EXIT.ok;
}
