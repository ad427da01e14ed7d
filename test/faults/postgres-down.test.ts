/**
 * Failure matrix: PostgreSQL stops for 20 s while writes keep arriving. The gateway keeps
 * accepting (it does not need PostgreSQL), the processor waits, and after PostgreSQL returns
 * every accepted write completes — none is marked failed because of the outage. Reads that need
 * PostgreSQL answer 503 with Retry-After meanwhile.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import type { PostgresServer } from "../../infra/index.ts";
import { createUser, get, post, settle } from "../helpers/client.ts";
import { sendWritesFor, waitForLedger } from "../helpers/load.ts";
import { privatePostgres, startStack, type TestStack } from "../helpers/stack.ts";

let pg: PostgresServer;
let stack: TestStack;
beforeAll(async () => {
  pg = await privatePostgres("pgdown");
  stack = await startStack("pgdown", { postgres: pg });
});
afterAll(async () => {
  await pg.start();
  await stack.stop();
  await pg.stop("immediate");
  rmSync(pg.dir, { recursive: true, force: true });
});

test("PostgreSQL down for 20 s: writes accepted and queued, all complete after recovery", async () => {
  const user = await createUser(stack);
  // Tokens are checked against PostgreSQL and then remembered; use this one once on each service.
  expect((await get(stack, `/v1/users/${user.userId}`, user.token)).status).toBe(200);

  const writes = sendWritesFor(stack, user, { durationMs: 26_000, intervalMs: 50, prefix: "pgdown" });
  await Bun.sleep(2_000);
  await pg.stop("fast");
  await Bun.sleep(2_000);
  // While it is down, a write is accepted and its status answers `pending` from the stream.
  const probe = await post(
    stack,
    `/v1/users/${user.userId}/workspaces`,
    { projectName: "probe" },
    { token: user.token },
  );
  expect(probe.status).toBe(202);
  const probeStatus = await get(stack, `/status/${probe.body.operationId}`, user.token);
  expect(probeStatus.status).toBe(200);
  expect(probeStatus.body.status).toBe("pending");
  // A read that needs PostgreSQL (nothing cached) is an outage to retry, not an error.
  const read = await get(stack, `/v1/users/${user.userId}`, user.token);
  expect(read.status).toBe(503);
  expect(read.headers.get("retry-after")).not.toBeNull();
  expect(read.headers.get("content-type")).toContain("application/problem+json");
  await Bun.sleep(16_000);
  await pg.start();
  const sent = await writes;

  expect(sent.length).toBeGreaterThan(300);
  // PostgreSQL is not on the accept path: every write was accepted, during the outage too.
  expect(sent.filter((s) => s.answer.status !== 202).map((s) => s.answer.status)).toEqual([]);

  const opIds = [...sent.map((s) => s.answer.body.operationId as string), probe.body.operationId as string];
  expect(await waitForLedger(stack, opIds, 60_000)).toBe(opIds.length);
  const [r] = await stack.sql<{ failed: number; completed: number; ws: number }[]>`
    SELECT count(*) FILTER (WHERE status = 'failed')::int AS failed,
           count(*) FILTER (WHERE status = 'completed')::int AS completed,
           (SELECT count(*) FROM workspace WHERE project_name LIKE 'pgdown-%' OR project_name = 'probe')::int AS ws
    FROM write_operations WHERE operation_id = ANY(${opIds})`;
  expect(r).toEqual({ failed: 0, completed: opIds.length, ws: opIds.length });
  expect((await settle(stack, probe.body.operationId as string, user.token)).body.status).toBe("completed");
});
