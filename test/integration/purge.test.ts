/**
 * The ledger purge (retention, ARCHITECTURE §6): rows past the retention go, in batches; a
 * `gave_up` row stays as long as the DLQ may still hold its message, so a replay can find it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DLQ_RETENTION_FACTOR, purgeOperations } from "@a4c/shared";
import { startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack("purge", { services: [] });
});
afterAll(() => stack.stop());

test("past retention: completed and failed rows go; a gave_up row stays while the DLQ keeps its message", async () => {
  const retention = 24;
  const row = (id: string, hoursAgo: number, status: string, code: string | null) => stack.sql`
    INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table, entity_id,
                                  op_type, status, error_code, created_at, completed_at)
    VALUES (${id}, 'admin', ${id}, 'fp', 'users', gen_random_uuid(), 'user.create', ${status}, ${code},
            now() - make_interval(hours => ${hoursAgo}), now() - make_interval(hours => ${hoursAgo}))`;
  await row("op-u-recent", 1, "completed", null);
  await row("op-u-old", retention + 2, "completed", null);
  await row("op-u-old-failed", retention + 2, "failed", "email_taken");
  await row("op-u-gave-up", retention + 2, "failed", "gave_up");
  await row("op-u-gave-up-long-ago", retention * DLQ_RETENTION_FACTOR + 2, "failed", "gave_up");

  expect(await purgeOperations(stack.sql, retention, 1)).toBe(3);
  const left = await stack.sql<{ operation_id: string }[]>`SELECT operation_id FROM write_operations ORDER BY 1`;
  expect(left.map((r) => r.operation_id)).toEqual(["op-u-gave-up", "op-u-recent"]);
});
