/**
 * Retention of Idempotency-Keys (ARCHITECTURE: "an expired key is a new request"), with a
 * retention of 7.2 s (A4C_RETENTION_HOURS=0.002) so expiry happens inside the test:
 *  - the streams carry the published limits (WRITES: the retention; WRITES_DLQ: 7 × it);
 *  - within the retention the same key answers the same operation, or 422 for another body;
 *  - after it, the same key with another body is a new operation that is applied, once;
 *    the first operation's effect stays and its ledger row has made way for the new one.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DLQ_RETENTION_FACTOR, jetstreamManager } from "@a4c/shared";
import { expectProblem, get, post, settle } from "../helpers/client.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";

const RETENTION_HOURS = 0.002;
const RETENTION_MS = RETENTION_HOURS * 3_600_000;
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack("keyexpiry", { env: { A4C_RETENTION_HOURS: String(RETENTION_HOURS) } });
}, 120_000);
afterAll(() => stack?.stop());

test("the streams carry the published limits", async () => {
  const jsm = await jetstreamManager(stack.nc);
  const writes = await jsm.streams.info(stack.names.writes);
  const dlq = await jsm.streams.info(stack.names.dlq);
  const ms = (ns: number) => Math.round(ns / 1e6);
  expect(ms(writes.config.max_age)).toBe(RETENTION_MS);
  expect(writes.config.discard).toBe("new");
  expect(writes.config.max_bytes).toBeGreaterThan(0);
  expect(ms(dlq.config.max_age)).toBe(RETENTION_MS * DLQ_RETENTION_FACTOR);
  expect(dlq.config.max_bytes).toBeGreaterThan(0);
});

test("an expired key is a new request: applied once, beside the first one's effect", async () => {
  const key = `expiry-${crypto.randomUUID()}`;
  const first = { name: "First Holder", email: `${crypto.randomUUID()}@example.com` };
  const second = { name: "Second Holder", email: `${crypto.randomUUID()}@example.com` };

  const a = await post(stack, "/v1/users", first, { key });
  expect(a.status).toBe(202);
  const acceptedAt = Date.now();
  expect((await settle(stack, a.body.operationId as string)).body.status).toBe("completed");
  // Within the retention: the same request is the same operation; another body is refused.
  const again = await post(stack, "/v1/users", first, { key });
  expect(again.body.operationId).toBe(a.body.operationId);
  const other = await post(stack, "/v1/users", second, { key });
  expect(Date.now() - acceptedAt).toBeLessThan(RETENTION_MS); // else this check proves nothing
  expectProblem(other, 422);

  // After it: the key names a new request.
  await Bun.sleep(Math.max(0, acceptedAt + RETENTION_MS - Date.now()));
  let b = await post(stack, "/v1/users", second, { key });
  for (let deadline = Date.now() + 20_000; b.status === 422 && Date.now() < deadline; ) {
    await Bun.sleep(250); // JetStream removes expired messages on its own timer
    b = await post(stack, "/v1/users", second, { key });
  }
  expect(b.status).toBe(202);
  expect(b.body.operationId).not.toBe(a.body.operationId);
  expect(b.body.userId).not.toBe(a.body.userId);
  const done = await settle(stack, b.body.operationId as string);
  expect(done.body).toMatchObject({ status: "completed" });

  const users = await stack.sql<{ id: string; email: string }[]>`
    SELECT id::text, email FROM users WHERE email IN (${first.email}, ${second.email}) ORDER BY name`;
  expect([...users]).toEqual([
    { id: a.body.userId as string, email: first.email },
    { id: b.body.userId as string, email: second.email },
  ]);
  // One ledger row holds the key now: the new operation's.
  const ledger = await stack.sql<{ operation_id: string }[]>`
    SELECT operation_id FROM write_operations WHERE idempotency_key = ${key}`;
  expect(ledger.map((r) => r.operation_id)).toEqual([b.body.operationId as string]);
  expect((await get(stack, `/status/${a.body.operationId}`)).status).toBe(404);
  // And the new one is a replay of itself from now on.
  const replay = await post(stack, "/v1/users", second, { key });
  expect(replay.body.operationId).toBe(b.body.operationId);
}, 60_000);
