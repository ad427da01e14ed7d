/**
 * Failure matrix: NATS stops. The gateway answers 503 with Retry-After — never 202 — and once
 * NATS is back, writes flow again and queued ones complete, with no service restarted.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { NatsServer } from "../../infra/index.ts";
import { createUser, expectProblem, post, settle } from "../helpers/client.ts";
import { waitForLedger } from "../helpers/load.ts";
import { privateNats, startStack, type TestStack } from "../helpers/stack.ts";

let nats: NatsServer;
let stack: TestStack;
beforeAll(async () => {
  nats = await privateNats("natsdown");
  stack = await startStack("natsdown", { nats, env: { A4C_PUBLISH_TIMEOUT_MS: "1500" } });
});
afterAll(async () => {
  await stack.stop();
  await nats.stop();
  rmSync(nats.dir, { recursive: true, force: true });
});

const write = (user: { userId: string; token: string }, name: string, key = name) =>
  post(stack, `/v1/users/${user.userId}/workspaces`, { projectName: name }, { token: user.token, key });

test("NATS down: 503, never 202; back up: writes flow and complete without restarts", async () => {
  const user = await createUser(stack);
  // Some accepted work waits unprocessed in the stream across the outage.
  await stack.processor.stop();
  const before = await Promise.all(Array.from({ length: 20 }, (_, i) => write(user, `before-${i}`)));
  expect(before.every((r) => r.status === 202)).toBe(true);
  await stack.processor.start();
  const processorPid = stack.processor.pid;
  const gatewayPid = stack.gateway.pid;

  await nats.stop("SIGKILL");
  const during = [];
  for (let i = 0; i < 20; i++) {
    during.push(await write(user, `during-${i}`));
    await Bun.sleep(100);
  }
  for (const r of during) {
    expectProblem(r, 503);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
  }
  expect((await fetch(`${stack.gateway.url}/ready`)).status).toBe(503);

  await nats.start();
  // The same keys retried after the outage are new requests (nothing was stored for them).
  const deadline = Date.now() + 30_000;
  let after = await write(user, "during-0");
  while (after.status !== 202 && Date.now() < deadline) {
    await Bun.sleep(250);
    after = await write(user, "during-0");
  }
  expect(after.status).toBe(202);
  expect(after.headers.get("idempotent-replayed")).toBeNull();
  const rest = await Promise.all(Array.from({ length: 19 }, (_, i) => write(user, `during-${i + 1}`)));
  expect(rest.every((r) => r.status === 202)).toBe(true);

  const all = [...before, after, ...rest].map((r) => r.body.operationId as string);
  expect(await waitForLedger(stack, all, 60_000)).toBe(40);
  expect((await settle(stack, after.body.operationId as string, user.token)).body.status).toBe("completed");
  const [n] =
    await stack.sql`SELECT count(*)::int AS n FROM workspace WHERE project_name LIKE 'before-%' OR project_name LIKE 'during-%'`;
  expect(n?.n).toBe(40);
  // Nothing was restarted.
  expect(stack.processor.pid).toBe(processorPid);
  expect(stack.gateway.pid).toBe(gatewayPid);
});
