/**
 * The writes DLQ's operator API on the processor (GET /dlq, POST /dlq/replay): given-up messages
 * are listed without secrets, to the admin only; a replay applies each exactly once (a replay while
 * the cause remains changes nothing, a second or concurrent replay applies nothing again), and an
 * unparsable message is listed but never replayed. The cause here is a trigger that fails some
 * inserts with a serialization failure (retryable, never succeeding), as in give-up.test.ts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream, jetstreamManager, tokenHash } from "@a4c/shared";
import type { WritesDlqPage, WritesReplayReport } from "@a4c/shared/answers";
import { headers } from "@nats-io/transport-node";
import { createUser, get, post, settle } from "../helpers/client.ts";
import { metricValue, operator } from "../helpers/ops.ts";
import { cure, poison } from "../helpers/poison.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";
import { until } from "../helpers/wait.ts";

type Listing = WritesDlqPage;
type Report = WritesReplayReport;

let stack: TestStack;
let user: { userId: string; token: string };
/** The two operations given up in the first test: a workspace and a user creation. */
let workspaceOp = "";
let userOp = "";
let poisonUser: { userId: string; token: string };

const POISON = poison("workspace", "NEW.project_name LIKE 'poison%'") + poison("users", "NEW.name = 'Poison User'");
const CURE = cure("workspace") + cure("users");

beforeAll(async () => {
  stack = await startStack("dlqreplay", { env: { A4C_MAX_DELIVERIES: "3" } });
  await stack.sql.unsafe(POISON);
  user = await createUser(stack);
});
afterAll(() => stack.stop());

const list = async (query = "") => {
  const r = await operator(stack.processor, `/dlq${query}`);
  expect(r.status).toBe(200);
  return r.body as unknown as Listing;
};
const replay = async () => {
  const r = await operator(stack.processor, "/dlq/replay", "POST");
  expect(r.status).toBe(200);
  return r.body as unknown as Report;
};
const workspaceWrite = (projectName: string) =>
  post(stack, `/v1/users/${user.userId}/workspaces`, { projectName }, { token: user.token });
const workspaces = async (projectName: string) => {
  const [row] = await stack.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM workspace w JOIN job j ON j.workspace_id = w.id WHERE w.project_name = ${projectName}`;
  return row?.n;
};
/** Writes a workspace that is given up, and waits until it is. */
async function givenUp(projectName: string): Promise<string> {
  const w = await workspaceWrite(projectName);
  const done = await settle(stack, w.body.operationId as string, user.token, 60_000);
  expect(done.body).toMatchObject({ status: "failed", error: { code: "gave_up" } });
  return w.body.operationId as string;
}

test("GET /dlq lists given-up messages with their command, never a token hash; admin only", async () => {
  const u = await post(stack, "/v1/users", { name: "Poison User", email: `${crypto.randomUUID()}@example.com` });
  userOp = u.body.operationId as string;
  poisonUser = { userId: u.body.userId as string, token: u.body.token as string };
  workspaceOp = await givenUp("poison-1");
  expect((await settle(stack, userOp, undefined, 60_000)).body).toMatchObject({ error: { code: "gave_up" } });

  const r = await fetch(`${stack.processor.url}/dlq`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  const text = await r.text();
  expect(text).not.toContain("tokenHash");
  expect(text).not.toContain(tokenHash(poisonUser.token));
  const listing = JSON.parse(text) as Listing;
  expect(listing.total).toBe(2);
  const byOp = new Map(listing.items.map((i) => [i.operationId, i]));
  expect(byOp.get(workspaceOp)).toMatchObject({
    entity: "workspaces",
    reason: "gave_up",
    replayable: true,
    command: { type: "workspace.create", userId: user.userId, projectName: "poison-1" },
  });
  expect(byOp.get(workspaceOp)?.detail).toContain("simulated serialization failure");
  expect(byOp.get(workspaceOp)?.sourceSeq).toBeGreaterThan(0);
  expect(byOp.get(workspaceOp)?.sourceSubject).toStartWith(`${stack.namespace}writes.workspaces.`);
  expect(Date.parse(byOp.get(workspaceOp)?.storedAt ?? "")).toBeGreaterThan(0);
  expect(byOp.get(userOp)).toMatchObject({
    entity: "users",
    reason: "gave_up",
    replayable: true,
    command: { type: "user.create", userId: poisonUser.userId, name: "Poison User" },
  });
  expect((await list("?limit=1")).items).toHaveLength(1);
  expect((await list("?limit=1")).total).toBe(2);
  expect((await operator(stack.processor, "/dlq?limit=0")).status).toBe(400);
  expect((await operator(stack.processor, "/dlq?limit=1001")).status).toBe(400);

  for (const [method, path] of [
    ["GET", "/dlq"],
    ["POST", "/dlq/replay"],
  ] as const) {
    for (const token of [null, user.token, "not-a-token"]) {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const refused = await fetch(`${stack.processor.url}${path}`, { method, headers });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
    }
  }
  // The refused replays replayed nothing.
  expect((await list()).total).toBe(2);
}, 90_000);

test("a replay while the cause remains: still failing, nothing changed", async () => {
  const report = await replay();
  expect(report).toMatchObject({ replayed: 0, stillFailing: 2, skipped: 0 });
  expect(report.items.map((i) => i.outcome)).toEqual(["still_failing", "still_failing"]);
  expect(report.items.find((i) => i.operationId === workspaceOp)?.detail).toContain("simulated serialization failure");
  expect((await get(stack, `/status/${workspaceOp}`, user.token)).body).toMatchObject({
    status: "failed",
    error: { code: "gave_up" },
  });
  expect(await workspaces("poison-1")).toBe(0);
  expect((await list()).total).toBe(2);
  expect(await metricValue(stack.processor, "a4c_processor_dlq_replays_total", { outcome: "still_failing" })).toBe(2);
});

test("the cause fixed, a replay applies each operation once; a second replay applies nothing", async () => {
  await stack.sql.unsafe(CURE);
  const jsm = await jetstreamManager(stack.nc);
  const seq = (await list()).items.find((i) => i.operationId === workspaceOp)?.seq ?? 0;
  const copy = await jsm.streams.getMessage(stack.names.dlq, { seq });

  const report = await replay();
  expect(report).toMatchObject({ replayed: 2, stillFailing: 0, skipped: 0 });
  expect(report.items.map((i) => i.outcome)).toEqual(["applied", "applied"]);
  expect((await settle(stack, workspaceOp, user.token)).body).toMatchObject({ status: "completed" });
  expect((await settle(stack, userOp)).body).toMatchObject({ status: "completed" });
  expect(await workspaces("poison-1")).toBe(1);
  // The user exists, and the token its 202 carried works.
  expect((await get(stack, "/v1/me", poisonUser.token)).status).toBe(200);
  expect((await list()).total).toBe(0);
  expect(await metricValue(stack.processor, "a4c_processor_dlq_messages")).toBe(0);

  expect(await replay()).toEqual({ replayed: 0, stillFailing: 0, skipped: 0, items: [] });
  expect(await workspaces("poison-1")).toBe(1);

  // A crash between the commit and the DLQ delete leaves the message behind: the next replay
  // finds the operation settled, applies nothing and removes the message.
  expect(copy).not.toBeNull();
  const h = headers();
  for (const [k, v] of copy?.header ?? []) if (k.startsWith("A4C-")) for (const x of v) h.append(k, x);
  await jetstream(stack.nc).publish(copy?.subject ?? "", copy?.data, { headers: h });
  const again = await replay();
  expect(again).toMatchObject({ replayed: 0, stillFailing: 0, skipped: 1 });
  expect(again.items).toEqual([expect.objectContaining({ operationId: workspaceOp, outcome: "already_settled" })]);
  expect(await workspaces("poison-1")).toBe(1);
  expect((await list()).total).toBe(0);
}, 60_000);

test("two replays at once of one given-up operation: exactly one effect", async () => {
  await stack.sql.unsafe(POISON);
  const op = await givenUp("poison-2");
  await stack.sql.unsafe(CURE);
  // The apply now takes a second, so both replays find the message and meet at its record.
  await stack.sql.unsafe(`
    CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$;
    CREATE TRIGGER slow BEFORE INSERT ON workspace FOR EACH ROW EXECUTE FUNCTION slow();`);
  const [a, b] = await Promise.all([replay(), replay()]);
  await stack.sql.unsafe("DROP TRIGGER slow ON workspace;");
  const outcomes = [...a.items, ...b.items].map((i) => i.outcome).sort();
  expect(outcomes).toEqual(["already_settled", "applied"]);
  expect(a.replayed + b.replayed).toBe(1);
  expect((await settle(stack, op, user.token)).body).toMatchObject({ status: "completed" });
  expect(await workspaces("poison-2")).toBe(1);
  expect((await list()).total).toBe(0);
}, 90_000);

test("an unparsable message is listed as not replayable and skipped by a replay", async () => {
  const js = jetstream(stack.nc);
  await js.publish(stack.names.writesSubject("workspaces", "0123456789abcdef01234567"), "{not json");
  await until("the garbage in the DLQ", async () => (await list()).total === 1);
  const [entry] = (await list()).items;
  expect(entry).toMatchObject({ entity: "workspaces", reason: "unparsable", replayable: false, operationId: null });
  expect(entry?.command).toBeUndefined();

  const report = await replay();
  expect(report).toMatchObject({ replayed: 0, stillFailing: 0, skipped: 1 });
  expect(report.items).toEqual([expect.objectContaining({ seq: entry?.seq, outcome: "not_replayable" })]);
  expect((await list()).total).toBe(1);
  expect(await metricValue(stack.processor, "a4c_processor_dlq_messages")).toBe(1);
  // The processor still applies new writes.
  const w = await workspaceWrite("after-garbage");
  expect((await settle(stack, w.body.operationId as string, user.token)).body.status).toBe("completed");
});
