/**
 * Retry classes and give-up (ARCHITECTURE §6): a message that keeps failing with a retryable
 * error is retried with backoff, then recorded `failed` / `gave_up` and kept in the DLQ stream,
 * while the messages around it apply normally.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstreamManager } from "@a4c/shared";
import { createUser, post, settle } from "../helpers/client.ts";
import { poison } from "../helpers/poison.ts";
import { serviceLog, startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack("giveup", { env: { A4C_MAX_DELIVERIES: "3" } });
  // A serialization failure for one project name, every time: retryable, but never succeeds.
  await stack.sql.unsafe(poison("workspace", "NEW.project_name = 'poison'"));
});
afterAll(() => stack.stop());

test("a message that keeps failing is retried, then given up to the DLQ; its neighbours apply", async () => {
  const user = await createUser(stack);
  const write = (projectName: string) =>
    post(stack, `/v1/users/${user.userId}/workspaces`, { projectName }, { token: user.token });
  const [before, poison, after] = await Promise.all([write("fine-1"), write("poison"), write("fine-2")]);

  expect((await settle(stack, before.body.operationId as string, user.token)).body.status).toBe("completed");
  expect((await settle(stack, after.body.operationId as string, user.token)).body.status).toBe("completed");
  const given = await settle(stack, poison.body.operationId as string, user.token, 60_000);
  expect(given.body).toMatchObject({ status: "failed", error: { code: "gave_up" } });
  expect((given.body.error as { message: string }).message).toContain("after 3 deliveries");

  const [n] = await stack.sql`SELECT count(*)::int AS n FROM workspace WHERE project_name = 'poison'`;
  expect(n?.n).toBe(0);
  const jsm = await jetstreamManager(stack.nc);
  const dlq = await jsm.streams.info(stack.names.dlq);
  expect(dlq.state.messages).toBe(1);
  const stored = await jsm.streams.getMessage(stack.names.dlq, { seq: dlq.state.first_seq });
  expect(stored?.header.get("A4C-Reason")).toBe("gave_up");
  expect(stored?.header.get("A4C-Operation-Id")).toBe(poison.body.operationId as string);

  const retries = serviceLog(stack.processor).filter(
    (l) => l.event === "operation.retry" && l.operationId === poison.body.operationId,
  );
  expect(retries.length).toBe(2);
  expect(retries.map((r) => r.delayMs)).toEqual([200, 400]);
});
