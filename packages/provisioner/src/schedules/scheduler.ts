/**
 * The build scheduler: every few hundred milliseconds it reads the schedules and, for each one
 * with a tick due, claims that tick in PostgreSQL (claimTick: a compare-and-set of the schedule's
 * last tick, in the transaction that starts the build). Any number of provisioners run it; each
 * tick is claimed once. Ticks are computed by croner in the schedule's time zone.
 *
 * Missed ticks (no scheduler ran through them): the newest due tick is claimed, once — one
 * catch-up build, not a burst.
 */
import { claimTick, type Logger, listSchedulesDue, type ScheduleRow, type Sql } from "@a4c/shared";
import { Cron } from "croner";
import type { ProvisionerMetrics } from "../metrics.ts";

/** Bound on ticks walked to find the newest due one (a per-second cron missed for a day: 86,400). */
const MAX_WALK = 200_000;

/**
 * The newest tick of `cron` after `after` and at or before `now`, or null when none is due. Pure.
 * @throws when the cron or the time zone is not valid (the gateway refuses those).
 */
export function dueTick(cron: string, timezone: string, after: Date, now: Date): Date | null {
  const c = new Cron(cron, { timezone, paused: true });
  let due: Date | null = null;
  let next = c.nextRun(after);
  for (let i = 0; next && next <= now && i < MAX_WALK; i++) {
    due = next;
    next = c.nextRun(next);
  }
  return due;
}

export class Scheduler {
  #timer: ReturnType<typeof setInterval> | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly metrics: ProvisionerMetrics,
    private readonly log: Logger,
    private readonly o: { instance: string; intervalMs: number },
  ) {}

  start(): void {
    if (this.o.intervalMs <= 0) return;
    this.#timer = setInterval(() => {
      this.#running = this.#running
        .then(async () => {
          await this.pass();
        })
        .catch((err) => this.log.warn({ event: "scheduler.failed", err }));
    }, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** One look at every schedule; the ticks this instance claimed. */
  async pass(now = new Date()): Promise<number> {
    let claimed = 0;
    for (const s of await listSchedulesDue(this.sql)) {
      // One schedule's failure (a database refusal) must not hold back the others.
      try {
        if (await this.#fire(s, now)) claimed++;
      } catch (err) {
        this.log.warn({ event: "schedule.tick_failed", scheduleId: s.id, err });
      }
    }
    return claimed;
  }

  async #fire(s: ScheduleRow, now: Date): Promise<boolean> {
    let tick: Date | null;
    try {
      tick = dueTick(s.cron, s.timezone, s.last_tick_at, now);
    } catch (err) {
      this.log.warn({ event: "schedule.invalid", scheduleId: s.id, err: (err as Error).message });
      return false;
    }
    if (!tick) return false;
    const result = await claimTick(this.sql, s, tick, this.o.instance);
    if (!result) return false;
    this.metrics.scheduleTicks.inc({ outcome: result.imageId ? "build" : "nothing" });
    this.log.info({
      event: "schedule.tick",
      scheduleId: s.id,
      tick: tick.toISOString(),
      late: now.getTime() - tick.getTime() > this.o.intervalMs * 2,
      imageId: result.imageId,
      outcome: result.outcome,
    });
    return true;
  }
}
