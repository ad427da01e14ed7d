/** A message that is not a write envelope is recorded, kept in the DLQ, and does not stop the consumer. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@a4c/shared";
import { createUser, get, post, settle } from "../helpers/client.ts";
import { serviceLog, startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack("unparsable");
});
afterAll(() => stack.stop());

test("garbage on the stream: recorded, DLQ'd, terminated; later writes still complete", async () => {
  const user = await createUser(stack);
  const js = jetstream(stack.nc);
  const operationId = "op-w-0123456789abcdef01234567-0123456789ab";
  const ack = await js.publish(stack.names.writesSubject("workspaces", "0123456789abcdef01234567"), "{not json", {
    msgID: operationId,
  });
  await js.publish(
    stack.names.writesSubject("workspaces", "fedcba9876543210fedcba98"),
    JSON.stringify({ v: 1, nope: true }),
  );

  const after = await post(
    stack,
    `/v1/users/${user.userId}/workspaces`,
    { projectName: "after-garbage" },
    { token: user.token },
  );
  expect((await settle(stack, after.body.operationId as string, user.token)).body.status).toBe("completed");

  const rejected =
    await stack.sql`SELECT stream_seq::int AS seq, operation_id, reason FROM rejected_messages ORDER BY stream_seq`;
  expect(rejected).toHaveLength(2);
  expect(rejected[0]).toMatchObject({ seq: ack.seq, operation_id: operationId });
  const jsm = await jetstreamManager(stack.nc);
  expect((await jsm.streams.info(stack.names.dlq)).state.messages).toBe(2);
  // The admin can ask for the operation and learns why it failed.
  const s = await get(stack, `/status/${operationId}`);
  expect(s.body).toMatchObject({ status: "failed", error: { code: "unparsable" } });
  expect(serviceLog(stack.processor).some((l) => l.event === "message.rejected")).toBe(true);
  // The processor is still alive and ready.
  expect((await fetch(`${stack.processor.url}/ready`)).status).toBe(200);
});
