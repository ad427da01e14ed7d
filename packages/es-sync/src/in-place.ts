import type { Logger } from "@a4c/shared";

/** The batch was abandoned (rebalance or shutdown): its offsets stay uncommitted, it is re-read. */
export class BatchAbandonedError extends Error {
  constructor() {
    super("batch abandoned: partition revoked or consumer stopping");
    this.name = "BatchAbandonedError";
  }
}

export interface BatchControl {
  heartbeat(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

/**
 * Retries `work` while PostgreSQL or Elasticsearch is unreachable: an outage must not push every
 * document through the retry topics to the DLQ. Keeps the group membership alive with heartbeats
 * and gives up the batch (uncommitted) as soon as the partition is revoked or the consumer stops.
 */
export async function retryInPlace<T>(
  work: () => Promise<T>,
  ctl: BatchControl,
  log: Logger,
  onWaiting: (waiting: boolean) => void = () => {},
): Promise<T> {
  let delay = 200;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await work();
      if (attempt > 1) onWaiting(false);
      return result;
    } catch (err) {
      if (!ctl.isRunning() || ctl.isStale()) throw new BatchAbandonedError();
      onWaiting(true);
      log.warn({ event: "batch.retry_in_place", attempt, delayMs: delay, err: String(err) });
      await sleepWithHeartbeat(delay, ctl);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/** Sleeps up to `ms` in short steps, heartbeating, and stops early when the batch is abandoned. */
export async function sleepWithHeartbeat(ms: number, ctl: BatchControl): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!ctl.isRunning() || ctl.isStale()) throw new BatchAbandonedError();
    await Bun.sleep(Math.min(500, until - Date.now()));
    await ctl.heartbeat().catch(() => {});
  }
}
