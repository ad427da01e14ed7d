/**
 * Graceful shutdown under load: SIGTERM makes the processor stop fetching, finish the batch in
 * flight and hand back the rest; after a restart every accepted write is applied exactly once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUser } from "../helpers/client.ts";
import { sendWrites, waitForLedger } from "../helpers/load.ts";
import { serviceLog, startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  // Messages in transit to the client when it unsubscribes come back after the ack wait.
  stack = await startStack("shutdown", { env: { A4C_BATCH_MAX: "16", A4C_ACK_WAIT_MS: "3000" } });
});
afterAll(() => stack.stop());

test("SIGTERM mid-stream drains cleanly; nothing lost, nothing applied twice", async () => {
  const user = await createUser(stack);
  let stopping: Promise<void> | null = null;
  const sent = await sendWrites(stack, user, {
    count: 600,
    concurrency: 16,
    prefix: "drain",
    onProgress: (done) => {
      if (done === 250) stopping = stack.processor.stop();
    },
  });
  await stopping;
  const log = serviceLog(stack.processor);
  const done = log.find((l) => l.event === "shutdown.done");
  expect(done?.code).toBe(0);
  expect(log.filter((l) => l.event === "shutdown.step").map((l) => l.step)).toEqual([
    "stop-fetching-and-drain",
    "http",
    "nats",
    "postgres",
  ]);

  await stack.processor.start();
  const ids = sent.map((s) => s.answer.body.operationId as string);
  expect(sent.every((s) => s.answer.status === 202)).toBe(true);
  expect(await waitForLedger(stack, ids, 60_000)).toBe(600);
  const [r] = await stack.sql<{ ws: number; distinct_ws: number }[]>`
    SELECT count(*)::int AS ws, count(DISTINCT project_name)::int AS distinct_ws
    FROM workspace WHERE project_name LIKE 'drain-%'`;
  expect(r).toEqual({ ws: 600, distinct_ws: 600 });
});
