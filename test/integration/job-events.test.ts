/**
 * Live job events (GET /v1/jobs/events): every committed change of a job reaches the open streams
 * of those who may see it — its owner and the admin — at once, in order, and no one else's; `ids`
 * narrows a stream to some jobs; a LISTEN connection that is lost and comes back tells every stream
 * to resync. Refusals are problem+json.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUser, expectProblem, get, post, settle } from "../helpers/client.ts";
import { openJobEvents } from "../helpers/job-events.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";
import { until } from "../helpers/wait.ts";

let stack: TestStack;
let alice: { userId: string; token: string };
let bob: { userId: string; token: string };

beforeAll(async () => {
  stack = await startStack("jobevents");
  alice = await createUser(stack, "Alice");
  bob = await createUser(stack, "Bob");
});
afterAll(() => stack.stop());

/** An open event stream, collecting what arrives. */
const open = (token: string, query = "") => openJobEvents(stack.readApi.url, token, query);

async function createWorkspace(user: { userId: string; token: string }, projectName: string) {
  const r = await post(stack, `/v1/users/${user.userId}/workspaces`, { projectName }, { token: user.token });
  expect((await settle(stack, r.body.operationId as string, user.token)).body.status).toBe("completed");
  return r.body.jobId as string;
}

test("the owner and the admin see a job's changes at once and in order; another user does not", async () => {
  const [a, b, admin] = await Promise.all([open(alice.token), open(bob.token), open(stack.adminToken)]);
  try {
    const jobId = await createWorkspace(alice, "live");
    await until("the creation reaches the owner's stream", async () => a.jobs(jobId).length === 1, 5_000, 20);
    expect(a.jobs(jobId)[0]).toMatchObject({
      id: jobId,
      userId: alice.userId,
      type: "WORKSPACE_CREATE",
      status: "SCHEDULED",
    });
    // Two changes committed one after the other arrive in that order.
    await stack.sql`UPDATE job SET status = 'IN_PROGRESS', step = 'place', version = version + 1 WHERE id = ${jobId}`;
    await stack.sql`UPDATE job SET step = 'container_create', version = version + 1 WHERE id = ${jobId}`;
    await until("both changes arrive", async () => a.jobs(jobId).length === 3, 5_000, 20);
    expect(a.jobs(jobId).map((j) => [j.status, j.step])).toEqual([
      ["SCHEDULED", "queued"],
      ["IN_PROGRESS", "place"],
      ["IN_PROGRESS", "container_create"],
    ]);
    await until("the admin sees them too", async () => admin.jobs(jobId).length === 3, 5_000, 20);
    // A change rolled back is never announced.
    await stack.sql
      .begin(async (tx) => {
        await tx`UPDATE job SET step = 'setup', version = version + 1 WHERE id = ${jobId}`;
        throw new Error("roll back");
      })
      .catch(() => {});
    const bobsJob = await createWorkspace(bob, "other");
    await until("bob's own job reaches bob", async () => b.jobs(bobsJob).length === 1, 5_000, 20);
    expect(b.jobs(jobId)).toEqual([]);
    expect(a.jobs(bobsJob)).toEqual([]);
    expect(a.jobs(jobId)).toHaveLength(3);
  } finally {
    await Promise.all([a.close(), b.close(), admin.close()]);
  }
});

test("ids= narrows a stream to those jobs", async () => {
  const first = await createWorkspace(alice, "narrow-1");
  const second = await createWorkspace(alice, "narrow-2");
  const s = await open(alice.token, `?ids=${second}`);
  try {
    await stack.sql`UPDATE job SET step = 'place', version = version + 1 WHERE id IN (${first}, ${second})`;
    await until("the named job's change arrives", async () => s.jobs(second).length === 1, 5_000, 20);
    expect(s.jobs(first)).toEqual([]);
  } finally {
    await s.close();
  }
});

test("a lost LISTEN connection: when it is back, streams are told to resync, and changes flow again", async () => {
  const s = await open(alice.token);
  try {
    const killed = await stack.sql`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND query ILIKE 'listen%'`;
    expect(killed.length).toBeGreaterThan(0);
    await until("resync", async () => s.events.some((e) => e.name === "resync"), 15_000, 50);
    const jobId = await createWorkspace(alice, "after-resync");
    await until("changes flow again", async () => s.jobs(jobId).length === 1, 5_000, 20);
  } finally {
    await s.close();
  }
});

test("refusals: no token 401, bad ids 400, as problem+json", async () => {
  const none = await fetch(`${stack.readApi.url}/v1/jobs/events`);
  expect(none.status).toBe(401);
  for (const ids of [
    "nope",
    `${crypto.randomUUID()},x`,
    Array.from({ length: 101 }, () => crypto.randomUUID()).join(","),
  ]) {
    expectProblem(await get(stack, `/v1/jobs/events?ids=${ids}`, alice.token), 400);
  }
});
