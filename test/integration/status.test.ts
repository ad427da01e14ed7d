/** The read side of an operation: pending from the stream, long-poll, SSE, ownership. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createUser, expectProblem, get, post } from "../helpers/client.ts";
import { metricsText } from "../helpers/ops.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
let alice: { userId: string; token: string };
let bob: { userId: string; token: string };

beforeAll(async () => {
  stack = await startStack("status");
  alice = await createUser(stack, "Alice");
  bob = await createUser(stack, "Bob");
});
afterAll(() => stack.stop());

const createWs = (projectName: string, who = alice) =>
  post(stack, `/v1/users/${who.userId}/workspaces`, { projectName }, { token: who.token });

test("an accepted operation is pending, never 404, while no processor runs — then completes", async () => {
  await stack.processor.stop();
  try {
    const r = await createWs("waiting");
    const s = await get(stack, `/status/${r.body.operationId}`, alice.token);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({ status: "pending", entity: { type: "workspace", id: r.body.workspaceId } });
    expect(s.headers.get("retry-after")).toBe("1");
  } finally {
    await stack.processor.start();
  }
});

test("?wait= returns as soon as the operation completes, not at the end of the wait", async () => {
  await stack.processor.stop();
  const r = await createWs("long-poll");
  const started = Date.now();
  const polled = get(stack, `/status/${r.body.operationId}?wait=20`, alice.token);
  await Bun.sleep(300);
  await stack.processor.start();
  const s = await polled;
  expect(s.body.status).toBe("completed");
  expect(Date.now() - started).toBeLessThan(15_000);
});

test("?wait= on a pending operation returns pending after the wait when nothing happens", async () => {
  await stack.processor.stop();
  try {
    const r = await createWs("still-pending");
    const started = Date.now();
    const s = await get(stack, `/status/${r.body.operationId}?wait=1`, alice.token);
    expect(s.body.status).toBe("pending");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  } finally {
    await stack.processor.start();
  }
});

test("SSE streams pending then completed for its own operation", async () => {
  await stack.processor.stop();
  const r = await createWs("sse");
  const res = await fetch(`${stack.readApi.url}/status/${r.body.operationId}/events`, {
    headers: { authorization: `Bearer ${alice.token}` },
  });
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  await Bun.sleep(200);
  await stack.processor.start();
  const text = await res.text(); // the stream ends once the status is final
  const events = text
    .split("\n\n")
    .filter((e) => e.startsWith("event: status"))
    .map((e) => JSON.parse(e.split("\ndata: ")[1] as string));
  expect(events.map((e) => e.status)).toEqual(["pending", "completed"]);
  expect(events.every((e) => e.operationId === r.body.operationId)).toBe(true);
});

test("another user's operation is 404, on poll and on SSE; the admin sees it", async () => {
  const r = await createWs("private");
  expectProblem(await get(stack, `/status/${r.body.operationId}`, bob.token), 404);
  const sse = await fetch(`${stack.readApi.url}/status/${r.body.operationId}/events`, {
    headers: { authorization: `Bearer ${bob.token}` },
  });
  expect(sse.status).toBe(404);
  expect((await get(stack, `/status/${r.body.operationId}`)).status).toBe(200);
});

test("unknown and malformed operation ids are 404; no token is 401", async () => {
  expectProblem(await get(stack, "/status/op-w-000000000000000000000000-000000000000", alice.token), 404);
  expectProblem(await get(stack, "/status/whatever", alice.token), 404);
  const r = await fetch(`${stack.readApi.url}/status/whatever`);
  expect(r.status).toBe(401);
});

test("workspace lists page with a cursor and only show the user's own", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await createWs(`page-${i}`, bob)).body.operationId as string);
  await get(stack, `/status/${ids.at(-1)}?wait=10`, bob.token);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await get(
      stack,
      `/v1/users/${bob.userId}/workspaces?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      bob.token,
    );
    expect(page.status).toBe(200);
    const items = page.body.items as Array<{ projectName: string; userId: string }>;
    expect(items.length).toBeLessThanOrEqual(2);
    for (const w of items) {
      expect(w.userId).toBe(bob.userId);
      seen.push(w.projectName);
    }
    cursor = page.body.cursor as string | null;
  } while (cursor);
  expect(seen.filter((p) => p.startsWith("page-")).sort()).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
  expectProblem(await get(stack, `/v1/users/${bob.userId}/workspaces`, alice.token), 403);
  expectProblem(await get(stack, `/v1/users/${bob.userId}/workspaces?cursor=zzz`, bob.token), 400);
  expectProblem(await get(stack, `/v1/users/${bob.userId}/workspaces?limit=0`, bob.token), 400);
});

test("/health, /ready and /metrics on every service", async () => {
  for (const svc of [stack.gateway, stack.processor, stack.readApi]) {
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);
    const ready = await fetch(`${svc.url}/ready`);
    expect(ready.status).toBe(200);
    const metrics = await metricsText(svc);
    expect(metrics).toContain("process_cpu_user_seconds_total");
  }
  const gatewayMetrics = await metricsText(stack.gateway);
  expect(gatewayMetrics).toContain("a4c_gateway_requests_total");
  const processorMetrics = await metricsText(stack.processor);
  expect(processorMetrics).toMatch(/a4c_processor_messages_total\{[^}]*outcome="completed"[^}]*\} \d+/);
});
