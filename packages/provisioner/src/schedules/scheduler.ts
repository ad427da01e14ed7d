/**
 * The build scheduler: every pass reads the schedules and, for each one
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

/** Claims due ticks; the provisioner runs `pass` every A4C_SCHEDULER_INTERVAL_MS (main.ts). */
export class Scheduler {
  constructor(
    private readonly sql: Sql,
    private readonly metrics: ProvisionerMetrics,
    private readonly log: Logger,
    /** `intervalMs`: how often `pass` runs (a tick claimed later than two of these is logged late). */
    private readonly o: { instance: string; intervalMs: number },
  ) {}

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
