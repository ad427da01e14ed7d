/**
 * An open-loop, fixed-rate load generator. Request i is due at start + i/rate whether or not
 * earlier ones were answered, and its latency is measured from that due time, not from when it
 * actually left: a stalled server then shows up as latency instead of silently lowering the
 * rate (coordinated omission). How late the generator itself was is reported separately.
 */
import type { BenchStack } from "./stack.ts";
import { type Percentiles, percentiles, say } from "./stats.ts";

export interface FixedRateResult {
  rate: number;
  seconds: number;
  sent: number;
  accepted: number;
  refused: Record<string, number>;
  /** Due time → 202 received (coordinated-omission corrected). */
  acceptMs: Percentiles;
  /** Actual send → 202 received. */
  serviceMs: Percentiles;
  /** Actual send − due time: the generator's own lateness. */
  sendLagMs: Percentiles;
  /**
   * Due time → write_operations.completed_at, filled in by `ledgerLatency` once the processor
   * caught up. completed_at is the start of the committing transaction: a lower bound.
   */
  ledgerMs?: Percentiles;
  completion?: CompletionResult;
  /** CPU cores each process used during the run, filled in by the caller. */
  cpu?: Record<string, number>;
}

export interface CompletionResult {
  /** Due time → the read-api's long-poll answered `completed` (what a client sees). */
  longPollMs: Percentiles;
  failed: number;
  notCompleted: number;
}

/** A run's result and, kept out of the JSON, when each accepted operation was due (epoch ms). */
export interface FixedRateRun {
  result: FixedRateResult;
  dueEpoch: Map<string, number>;
}

/** Calls `task(i, due)` at `rate` per second for `seconds`, then waits for every task. */
async function openLoop(rate: number, seconds: number, task: (i: number, due: number) => Promise<void>): Promise<void> {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now() + 20;
  const running: Promise<void>[] = [];
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && start + next * interval <= now) {
      running.push(task(next, start + next * interval));
      next++;
    }
    // Never spin: on a 2-core machine a busy generator steals the CPU it is measuring. Timers
    // have ~1 ms granularity, so a request may leave up to ~1 ms late; that lateness is
    // reported and, since latency counts from the due time, it can only make results worse.
    const wait = start + next * interval - performance.now();
    await Bun.sleep(Math.max(1, Math.floor(wait)));
  }
  await Promise.all(running);
}

const WORKSPACES = (s: BenchStack) => `${s.gateway.url}/v1/users/${s.user.id}/workspaces`;

/**
 * Fixed-rate workspace creates. With `followToCompletion`, each client then long-polls
 * GET /status/:id?wait=10 on the read-api until the write is completed, as a CLI would.
 */
export async function fixedRate(
  s: BenchStack,
  o: { rate: number; seconds: number; label: string; followToCompletion?: boolean; completionLimitMs?: number },
): Promise<FixedRateRun> {
  const accept: number[] = [];
  const service: number[] = [];
  const lag: number[] = [];
  const longPoll: number[] = [];
  const refused: Record<string, number> = {};
  const dueEpoch = new Map<string, number>();
  let failed = 0;
  let notCompleted = 0;
  const refuse = (why: string) => {
    refused[why] = (refused[why] ?? 0) + 1;
  };
  const userAuth = { authorization: `Bearer ${s.user.token}` };
  const completionDeadline = () => performance.now() + (o.completionLimitMs ?? 60_000);

  say(
    `fixed rate ${o.rate}/s for ${o.seconds} s (${o.label})${o.followToCompletion ? ", long-polling each to completion" : ""}`,
  );
  await openLoop(o.rate, o.seconds, async (i, due) => {
    const key = `${o.label}-${i}`;
    const sent = performance.now();
    lag.push(sent - due);
    let operationId: string;
    try {
      const r = await fetch(WORKSPACES(s), {
        method: "POST",
        headers: { ...userAuth, "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify({ projectName: key }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await r.json()) as { operationId?: string };
      if (r.status !== 202 || !body.operationId) return refuse(String(r.status));
      const now = performance.now();
      accept.push(now - due);
      service.push(now - sent);
      operationId = body.operationId;
    } catch (err) {
      return refuse(err instanceof Error ? err.name : "error");
    }
    dueEpoch.set(operationId, performance.timeOrigin + due);
    if (!o.followToCompletion) return;
    const until = completionDeadline();
    while (performance.now() < until) {
      try {
        const r = await fetch(`${s.readApi.url}/status/${operationId}?wait=10`, {
          headers: userAuth,
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await r.json()) as { status?: string };
        if (r.status === 200 && body.status === "completed") {
          longPoll.push(performance.now() - due);
          return;
        }
        if (r.status === 200 && body.status === "failed") {
          failed++;
          return;
        }
        if (r.status !== 200) await Bun.sleep(50);
      } catch {
        await Bun.sleep(50);
      }
    }
    notCompleted++;
  });

  const result: FixedRateResult = {
    rate: o.rate,
    seconds: o.seconds,
    sent: Math.round(o.rate * o.seconds),
    accepted: accept.length,
    refused,
    acceptMs: percentiles(accept),
    serviceMs: percentiles(service),
    sendLagMs: percentiles(lag),
  };
  if (o.followToCompletion) result.completion = { longPollMs: percentiles(longPoll), failed, notCompleted };
  return { result, dueEpoch };
}

/** completed_at − due time for each operation, from the ledger (same machine, same clock). */
export async function ledgerLatency(s: BenchStack, dueEpoch: Map<string, number>): Promise<Percentiles> {
  const ids = [...dueEpoch.keys()];
  const out: number[] = [];
  for (let i = 0; i < ids.length; i += 5_000) {
    const rows = await s.sql<{ operation_id: string; ms: number }[]>`
      SELECT operation_id, (extract(epoch FROM completed_at) * 1000)::float8 AS ms
      FROM write_operations WHERE operation_id = ANY(${ids.slice(i, i + 5_000)})`;
    for (const r of rows) out.push(r.ms - (dueEpoch.get(r.operation_id) ?? r.ms));
  }
  return percentiles(out);
}

/**
 * Open loop: starts `send(k)` for k = 0 … rate·seconds−1 at its scheduled time, whatever the
 * earlier ones are doing, and resolves when all have finished.
 */
export async function paced(rate: number, seconds: number, send: (k: number) => Promise<void>): Promise<number> {
  const total = rate * seconds;
  const start = performance.now() + 20;
  const running: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const wait = start + (k * 1000) / rate - performance.now();
    if (wait >= 1) await Bun.sleep(Math.floor(wait));
    running.push(send(k));
  }
  await Promise.all(running);
  return total;
}
