/**
 * Failure matrix: the processor is killed (SIGKILL) in the middle of 2,000 writes and restarted.
 * Every accepted operation must be applied exactly once: no loss, no duplicate effect.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUser, post } from "../helpers/client.ts";
import { sendWrites, waitForLedger } from "../helpers/load.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  // Small batches so the kill lands between many commits, not after one big one.
  stack = await startStack("crash", { env: { A4C_BATCH_MAX: "32", A4C_ACK_WAIT_MS: "2000" } });
});
afterAll(() => stack.stop());

test("kill -9 the processor mid-stream of 2,000 writes: every accepted write completes exactly once", async () => {
  const user = await createUser(stack);
  let killedAt = -1;
  let restarting: Promise<void> | null = null;
  const sent = await sendWrites(stack, user, {
    count: 2_000,
    concurrency: 16,
    prefix: "crash",
    onProgress: async (done) => {
      if (done === 700 && killedAt < 0) {
        killedAt = done;
        await stack.processor.kill();
        // Restart while writes keep arriving.
        restarting = Bun.sleep(1_000).then(() => stack.processor.start());
      }
    },
  });
  await restarting;
  expect(killedAt).toBe(700);
  const accepted = sent.filter((s) => s.answer.status === 202);
  expect(accepted).toHaveLength(2_000);

  // The kill really interrupted work: some messages were applied before it and some after.
  const opIds = accepted.map((s) => s.answer.body.operationId as string);
  expect(await waitForLedger(stack, opIds, 60_000)).toBe(2_000);

  const [counts] = await stack.sql<
    { ops: number; distinct_ops: number; ws: number; distinct_ws: number; jobs: number; failed: number }[]
  >`
    SELECT (SELECT count(*) FROM write_operations WHERE idempotency_key LIKE 'crash-%')::int AS ops,
           (SELECT count(DISTINCT idempotency_key) FROM write_operations WHERE idempotency_key LIKE 'crash-%')::int AS distinct_ops,
           (SELECT count(*) FROM workspace WHERE project_name LIKE 'crash-%')::int AS ws,
           (SELECT count(DISTINCT project_name) FROM workspace WHERE project_name LIKE 'crash-%')::int AS distinct_ws,
           (SELECT count(*) FROM job j JOIN workspace w ON w.id = j.workspace_id WHERE w.project_name LIKE 'crash-%')::int AS jobs,
           (SELECT count(*) FROM write_operations WHERE idempotency_key LIKE 'crash-%' AND status <> 'completed')::int AS failed`;
  expect(counts).toEqual({ ops: 2_000, distinct_ops: 2_000, ws: 2_000, distinct_ws: 2_000, jobs: 2_000, failed: 0 });

  // Each workspace is the one its 202 named.
  const rows = await stack.sql<{ id: string }[]>`SELECT id::text FROM workspace WHERE project_name LIKE 'crash-%'`;
  expect(new Set(rows.map((r) => r.id))).toEqual(new Set(accepted.map((s) => s.answer.body.workspaceId as string)));

  // A client retrying every request after the crash gets the same operations back, and no new effect.
  const retries = await Promise.all(
    accepted
      .slice(0, 100)
      .map((s) =>
        post(
          stack,
          `/v1/users/${user.userId}/workspaces`,
          { projectName: s.projectName },
          { token: user.token, key: s.key },
        ),
      ),
  );
  expect(retries.map((r) => r.body.operationId)).toEqual(accepted.slice(0, 100).map((s) => s.answer.body.operationId));
  const [ws] = await stack.sql`SELECT count(*)::int AS n FROM workspace WHERE project_name LIKE 'crash-%'`;
  expect(ws?.n).toBe(2_000);
});
