/** Bounded write load for fault tests: a fixed number of writes or a fixed duration, never open-ended. */
import { type Answer, post } from "./client.ts";
import type { TestStack } from "./stack.ts";

export interface Sent {
  key: string;
  projectName: string;
  answer: Answer;
}

/** Sends `count` workspace creations with `concurrency` in flight; `onProgress` sees each answer. */
export async function sendWrites(
  stack: TestStack,
  user: { userId: string; token: string },
  opts: { count: number; concurrency: number; prefix: string; onProgress?: (done: number) => void | Promise<void> },
): Promise<Sent[]> {
  const sent: Sent[] = [];
  let next = 0;
  const worker = async () => {
    while (next < opts.count) {
      const i = next++;
      const key = `${opts.prefix}-${i}`;
      const projectName = `${opts.prefix}-${i}`;
      const answer = await post(
        stack,
        `/v1/users/${user.userId}/workspaces`,
        { projectName },
        { token: user.token, key },
      );
      sent.push({ key, projectName, answer });
      await opts.onProgress?.(sent.length);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return sent;
}

/** Sends one write every `intervalMs` for `durationMs`, each independently (an open loop). */
export async function sendWritesFor(
  stack: TestStack,
  user: { userId: string; token: string },
  opts: { durationMs: number; intervalMs: number; prefix: string },
): Promise<Sent[]> {
  const pending: Promise<Sent>[] = [];
  const end = Date.now() + opts.durationMs;
  for (let i = 0; Date.now() < end; i++) {
    const key = `${opts.prefix}-${i}`;
    const projectName = `${opts.prefix}-${i}`;
    pending.push(
      post(stack, `/v1/users/${user.userId}/workspaces`, { projectName }, { token: user.token, key }).then(
        (answer) => ({
          key,
          projectName,
          answer,
        }),
      ),
    );
    await Bun.sleep(opts.intervalMs);
  }
  return Promise.all(pending);
}

/** Waits until the ledger holds every given operation, or fails after `timeoutMs`. */
export async function waitForLedger(stack: TestStack, operationIds: string[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await stack.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM write_operations WHERE operation_id = ANY(${operationIds})`;
    const n = row?.n ?? 0;
    if (n === operationIds.length || Date.now() > deadline) return n;
    await Bun.sleep(200);
  }
}
