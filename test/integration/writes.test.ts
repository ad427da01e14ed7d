/**
 * The write contract (ARCHITECTURE §4) against real services: happy paths, every refusal as
 * problem+json with nothing changed, and idempotent replays.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstream, jetstreamManager, keyHash, newOperationId } from "@a4c/shared";
import { createUser, del, expectProblem, get, post, settle } from "../helpers/client.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";

let stack: TestStack;
let alice: { userId: string; token: string };
let bob: { userId: string; token: string };

beforeAll(async () => {
  stack = await startStack("writes", { env: { A4C_MAX_BODY_BYTES: "2048" } });
  alice = await createUser(stack, "Alice");
  bob = await createUser(stack, "Bob");
});
afterAll(() => stack.stop());

/** Everything a refused request could have changed. */
async function snapshot() {
  const [row] = await stack.sql<{ users: number; workspaces: number; jobs: number; ops: number }[]>`
    SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM workspace)::int AS workspaces,
           (SELECT count(*) FROM job)::int AS jobs, (SELECT count(*) FROM write_operations)::int AS ops`;
  const jsm = await jetstreamManager(stack.nc);
  const info = await jsm.streams.info(stack.names.writes);
  return { ...row, messages: info.state.messages };
}

describe("happy paths", () => {
  test("POST /v1/users: 202 with Location, Retry-After, userId and a working token", async () => {
    const r = await post(stack, "/v1/users", { name: "Carol", email: "carol@example.com" });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe("pending");
    expect(r.headers.get("location")).toBe(`/status/${r.body.operationId}`);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    const done = await settle(stack, r.body.operationId as string);
    expect(done.body).toMatchObject({ status: "completed", entity: { type: "user", id: r.body.userId } });
    // Only the hash of the token is stored, and the token authenticates as the new user.
    const [u] = await stack.sql`SELECT encode(token_hash, 'hex') AS h FROM users WHERE id = ${r.body.userId as string}`;
    expect(u?.h).toHaveLength(64);
    expect(u?.h).not.toContain(r.body.token as string);
    const me = await get(stack, `/v1/users/${r.body.userId}`, r.body.token as string);
    expect(me.body).toMatchObject({ id: r.body.userId, name: "Carol", email: "carol@example.com" });
  });

  test("POST workspaces: workspace CREATING and job WORKSPACE_CREATE SCHEDULED in one transaction", async () => {
    const r = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "backend-api" },
      { token: alice.token },
    );
    expect(r.status).toBe(202);
    const done = await settle(stack, r.body.operationId as string, alice.token);
    expect(done.body).toMatchObject({
      status: "completed",
      entity: { type: "workspace", id: r.body.workspaceId },
      job: { id: r.body.jobId, status: "SCHEDULED" },
    });
    const [ws] =
      await stack.sql`SELECT status, project_name, xmin::text AS tx FROM workspace WHERE id = ${r.body.workspaceId as string}`;
    const [job] =
      await stack.sql`SELECT type, status, workspace_id::text, xmin::text AS tx FROM job WHERE id = ${r.body.jobId as string}`;
    expect(ws).toMatchObject({ status: "CREATING", project_name: "backend-api" });
    expect(job).toMatchObject({ type: "WORKSPACE_CREATE", status: "SCHEDULED", workspace_id: r.body.workspaceId });
    expect(job?.tx).toBe(ws?.tx as string);
    const list = await get(stack, `/v1/users/${alice.userId}/workspaces`, alice.token);
    expect((list.body.items as Array<{ id: string }>).map((w) => w.id)).toContain(r.body.workspaceId as string);
  });

  test("DELETE workspace: DELETING plus a WORKSPACE_DELETE job; deleting again fails with a code", async () => {
    const created = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "to-delete" },
      { token: alice.token },
    );
    await settle(stack, created.body.operationId as string, alice.token);
    const path = `/v1/users/${alice.userId}/workspaces/${created.body.workspaceId}`;
    const r = await del(stack, path, { token: alice.token });
    expect(r.status).toBe(202);
    const done = await settle(stack, r.body.operationId as string, alice.token);
    expect(done.body).toMatchObject({ status: "completed", job: { status: "SCHEDULED" } });
    const [ws] =
      await stack.sql`SELECT status, version::int FROM workspace WHERE id = ${created.body.workspaceId as string}`;
    expect(ws).toMatchObject({ status: "DELETING", version: 2 });
    const again = await del(stack, path, { token: alice.token });
    const failed = await settle(stack, again.body.operationId as string, alice.token);
    expect(failed.body).toMatchObject({ status: "failed", error: { code: "invalid_state" } });
  });

  test("data PostgreSQL refuses is recorded failed with a code, and the batch goes on", async () => {
    const first = await post(stack, `/v1/users/${bob.userId}/workspaces`, { projectName: "dup" }, { token: bob.token });
    const second = await post(
      stack,
      `/v1/users/${bob.userId}/workspaces`,
      { projectName: "dup" },
      { token: bob.token },
    );
    const a = await settle(stack, first.body.operationId as string, bob.token);
    const b = await settle(stack, second.body.operationId as string, bob.token);
    expect(a.body.status).toBe("completed");
    expect(b.body).toMatchObject({ status: "failed", error: { code: "project_exists" } });
    const missing = await del(stack, `/v1/users/${bob.userId}/workspaces/${crypto.randomUUID()}`, { token: bob.token });
    expect((await settle(stack, missing.body.operationId as string, bob.token)).body).toMatchObject({
      status: "failed",
      error: { code: "not_found" },
    });
  });
});

describe("idempotency", () => {
  test("same key and body: the same 202 and ids, marked replayed; one effect", async () => {
    const body = { projectName: "replayed" };
    const first = await post(stack, `/v1/users/${alice.userId}/workspaces`, body, {
      token: alice.token,
      key: "replay-1",
    });
    const again = await post(stack, `/v1/users/${alice.userId}/workspaces`, body, {
      token: alice.token,
      key: "replay-1",
    });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    await settle(stack, first.body.operationId as string, alice.token);
    const after = await post(stack, `/v1/users/${alice.userId}/workspaces`, body, {
      token: alice.token,
      key: "replay-1",
    });
    expect(after.body).toEqual(first.body);
    const [n] = await stack.sql`SELECT count(*)::int AS n FROM workspace WHERE project_name = 'replayed'`;
    expect(n?.n).toBe(1);
  });

  test("a replayed user creation returns the same token", async () => {
    const body = { name: "Dora", email: "dora@example.com" };
    const a = await post(stack, "/v1/users", body, { key: "dora" });
    const b = await post(stack, "/v1/users", body, { key: "dora" });
    expect(b.body.token).toBe(a.body.token as string);
    expect(b.body.userId).toBe(a.body.userId as string);
  });

  test("same key, different body: 422 and nothing changes", async () => {
    const first = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "k422" },
      { token: alice.token, key: "k-422" },
    );
    await settle(stack, first.body.operationId as string, alice.token);
    const before = await snapshot();
    const r = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "other" },
      { token: alice.token, key: "k-422" },
    );
    expectProblem(r, 422);
    expect(await snapshot()).toEqual(before);
  });

  test("keys are scoped per user: two users may use the same key", async () => {
    const a = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "scoped" },
      { token: alice.token, key: "shared-key" },
    );
    const b = await post(
      stack,
      `/v1/users/${bob.userId}/workspaces`,
      { projectName: "scoped" },
      { token: bob.token, key: "shared-key" },
    );
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(a.body.operationId).not.toBe(b.body.operationId as string);
  });

  test("the admin's key used for another kind of write: 422, and the first request is applied", async () => {
    const first = await post(stack, "/v1/users", { name: "Kay", email: "kay@example.com" }, { key: "cross-kind" });
    expect(first.status).toBe(202);
    const r = await post(
      stack,
      `/v1/users/${alice.userId}/workspaces`,
      { projectName: "cross" },
      { key: "cross-kind" },
    );
    expectProblem(r, 422);
    expect((await settle(stack, first.body.operationId as string)).body.status).toBe("completed");
    // Nothing of the refused request was stored or applied (other tests' writes may still land,
    // so this looks at the key and the project, not at totals).
    const jsm = await jetstreamManager(stack.nc);
    const subject = stack.names.writesSubject("workspaces", keyHash("admin", "cross-kind"));
    expect(await jsm.streams.getMessage(stack.names.writes, { last_by_subj: subject }).catch(() => null)).toBeNull();
    const [ops] = await stack.sql`SELECT count(*)::int AS n FROM write_operations WHERE idempotency_key = 'cross-kind'`;
    const [ws] = await stack.sql`SELECT count(*)::int AS n FROM workspace WHERE project_name = 'cross'`;
    expect([ops?.n, ws?.n]).toEqual([1, 0]);
  });

  test("one key for two kinds that race past the gateway: both are applied, none is lost", async () => {
    // What two concurrent admin requests could do: each kind's subject takes the key once.
    const js = jetstream(stack.nc);
    const key = "raced-kinds";
    const hash = keyHash("admin", key);
    const operations: string[] = [];
    for (const [entity, command] of [
      [
        "users",
        {
          type: "user.create",
          userId: crypto.randomUUID(),
          name: "Race",
          email: "race@example.com",
          tokenHash: "a".repeat(64),
        },
      ],
      [
        "workspaces",
        {
          type: "workspace.create",
          userId: alice.userId,
          workspaceId: crypto.randomUUID(),
          jobId: crypto.randomUUID(),
          projectName: "raced",
          image: "a4c/base:latest",
        },
      ],
    ] as const) {
      const operationId = newOperationId(entity, hash);
      operations.push(operationId);
      const envelope = {
        v: 1,
        operationId,
        actor: "admin",
        idempotencyKey: key,
        fingerprint: `fp-${entity}`,
        acceptedAt: new Date().toISOString(),
        command,
      };
      await js.publish(stack.names.writesSubject(entity, hash), JSON.stringify(envelope), { msgID: operationId });
    }
    for (const id of operations) expect((await settle(stack, id)).body).toMatchObject({ status: "completed" });
    const [n] = await stack.sql`SELECT count(*)::int AS n FROM write_operations WHERE idempotency_key = ${key}`;
    expect(n?.n).toBe(2);
  });

  test("50 concurrent identical requests: one operation, one effect", async () => {
    const body = { projectName: "concurrent" };
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        post(stack, `/v1/users/${bob.userId}/workspaces`, body, { token: bob.token, key: "c-50" }),
      ),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const ids = new Set(answers.map((a) => a.body.operationId));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    await settle(stack, [...ids][0] as string, bob.token);
    const [n] = await stack.sql`SELECT count(*)::int AS n FROM workspace WHERE project_name = 'concurrent'`;
    const [o] = await stack.sql`SELECT count(*)::int AS n FROM write_operations WHERE idempotency_key = 'c-50'`;
    expect(n?.n).toBe(1);
    expect(o?.n).toBe(1);
  });
});

describe("refusals are problem+json and change nothing", () => {
  const ws = () => `/v1/users/${alice.userId}/workspaces`;
  const cases: Array<[string, number, () => Promise<import("../helpers/client.ts").Answer>]> = [
    ["missing Idempotency-Key", 400, () => post(stack, ws(), { projectName: "x" }, { token: alice.token, key: null })],
    ["empty Idempotency-Key", 400, () => post(stack, ws(), { projectName: "x" }, { token: alice.token, key: "" })],
    [
      "too long Idempotency-Key",
      400,
      () => post(stack, ws(), { projectName: "x" }, { token: alice.token, key: "k".repeat(256) }),
    ],
    [
      "Idempotency-Key with a control character",
      400,
      () => post(stack, ws(), { projectName: "x" }, { token: alice.token, key: "a\tb" }),
    ],
    ["body not JSON", 400, () => post(stack, ws(), null, { token: alice.token, raw: "{nope" })],
    ["body missing field", 400, () => post(stack, ws(), {}, { token: alice.token })],
    [
      "body with unknown field",
      400,
      () => post(stack, ws(), { projectName: "x", admin: true }, { token: alice.token }),
    ],
    ["bad project name", 400, () => post(stack, ws(), { projectName: "Bad Name!" }, { token: alice.token })],
    ["body is an array", 400, () => post(stack, ws(), [1, 2], { token: alice.token })],
    [
      "wrong content type",
      415,
      () =>
        post(stack, ws(), null, {
          token: alice.token,
          raw: "projectName=x",
          headers: { "content-type": "text/plain" },
        }),
    ],
    ["bad email", 400, () => post(stack, "/v1/users", { name: "x", email: "not-an-email" })],
    ["no token", 401, () => post(stack, ws(), { projectName: "x" }, { token: null })],
    ["unknown token", 401, () => post(stack, ws(), { projectName: "x" }, { token: "a4c_not-a-real-token" })],
    ["acting for another user", 403, () => post(stack, ws(), { projectName: "x" }, { token: bob.token })],
    [
      "a user creating users",
      403,
      () => post(stack, "/v1/users", { name: "x", email: "x@example.com" }, { token: alice.token }),
    ],
    ["body over the limit", 413, () => post(stack, ws(), { projectName: "x".repeat(3000) }, { token: alice.token })],
    ["unknown route", 404, () => post(stack, "/v1/nothing", {}, {})],
  ];
  for (const [name, status, send] of cases) {
    test(`${name} → ${status}`, async () => {
      const before = await snapshot();
      expectProblem(await send(), status);
      expect(await snapshot()).toEqual(before);
    });
  }

  // Issue 10: each of these answered otherwise before (a bare 413, 400 "not valid JSON", or a 202
  // whose operation then failed with PostgreSQL's own message).
  const raw = (
    path: string,
    init: { token?: string | null; body: RequestInit["body"]; type?: string; length?: boolean },
  ) => {
    const headers: Record<string, string> = { "idempotency-key": crypto.randomUUID() };
    if (init.type) headers["content-type"] = init.type;
    const token = init.token === undefined ? alice.token : init.token;
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(`${stack.gateway.url}${path}`, {
      method: "POST",
      headers,
      body: init.body,
      duplex: "half",
    } as RequestInit);
  };
  const chunked = (bytes: number) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let sent = 0; sent < bytes; sent += 16_384) c.enqueue(new TextEncoder().encode(" ".repeat(16_384)));
        c.close();
      },
    });
  const asAnswer = async (r: Response) => ({
    status: r.status,
    headers: r.headers,
    body: (await r.json()) as Record<string, unknown>,
  });
  const hostile: Array<[string, number, () => Promise<Response>]> = [
    [
      "a body over 1 MiB (Bun's own limit)",
      413,
      () => raw(ws(), { body: "x".repeat(2 << 20), type: "application/json" }),
    ],
    ["a chunked body over the limit", 413, () => raw(ws(), { body: chunked(64 << 10), type: "application/json" })],
    ["a form body", 415, () => raw(ws(), { body: "projectName=x", type: "application/x-www-form-urlencoded" })],
    [
      "a multipart body",
      415,
      () =>
        raw(ws(), {
          body: (() => {
            const f = new FormData();
            f.set("projectName", "x");
            return f;
          })(),
        }),
    ],
    [
      "a name with U+0000",
      400,
      () =>
        raw("/v1/users", {
          token: stack.adminToken,
          body: JSON.stringify({ name: "a\u0000b", email: "nul@example.com" }),
          type: "application/json",
        }),
    ],
    [
      "a name with a lone surrogate",
      400,
      () =>
        raw("/v1/users", {
          token: stack.adminToken,
          body: '{"name":"a\\ud800b","email":"s@example.com"}',
          type: "application/json",
        }),
    ],
    [
      "a field name with a control character",
      400,
      () => raw(ws(), { body: '{"project\\u0001Name":"x"}', type: "application/json" }),
    ],
    [
      "bytes that are not UTF-8",
      400,
      () => raw(ws(), { body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), type: "application/json" }),
    ],
    // The documented order: 401 → 429 → 403 → 400/413/415; the body is not read for a stranger.
    ["no token and a bad body", 401, () => raw(ws(), { token: null, body: "{nope", type: "application/json" })],
    [
      "no token and a body over 1 MiB",
      401,
      () => raw(ws(), { token: null, body: "x".repeat(2 << 20), type: "application/json" }),
    ],
    [
      "an unknown token and a chunked body over the limit",
      401,
      () => raw(ws(), { token: "a4c_unknown-token", body: chunked(64 << 10), type: "application/json" }),
    ],
    [
      "another user's path and a bad body",
      403,
      () => raw(`/v1/users/${bob.userId}/workspaces`, { body: "{nope", type: "text/plain" }),
    ],
  ];
  for (const [name, status, send] of hostile) {
    test(`${name} → ${status} problem+json, nothing stored`, async () => {
      const before = await snapshot();
      expectProblem(await asAnswer(await send()), status);
      expect(await snapshot()).toEqual(before);
    });
  }

  test("a malformed user id in the path is 400 for the admin", async () => {
    const r = await post(stack, "/v1/users/not-a-uuid/workspaces", { projectName: "x" });
    expectProblem(r, 400);
  });
});
