/**
 * How a step's failure is treated, decided here:
 * - `HostUnreachableError` (hosts/ssh-connection.ts): SSH refused or timed out, dockerd silent —
 *   retried with backoff, re-placed elsewhere when nothing was made on the host yet;
 * - `NoRoomError`: no host can take the workspace now — the job waits, SCHEDULED, with the reason;
 * - `StepFailedError` and Docker's refusals (`DockerRefusedError`): the request itself cannot
 *   succeed — compensate and fail with a code and a message that says what happened;
 * - `LeaseLostError` (shared): another provisioner took the job over — stop, change nothing.
 */
export class NoRoomError extends Error {
  constructor(readonly note: string) {
    super(note);
    this.name = "NoRoomError";
  }
}

export class StepFailedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StepFailedError";
  }
}

/** Retry delay after `attempt` transient failures: base doubling, at most 30 s. */
export function backoffMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempt - 1), 30_000);
}
