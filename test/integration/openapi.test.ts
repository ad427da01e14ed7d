/**
 * The OpenAPI documents of the gateway and the read-api, against the services themselves:
 *   - the routes an app serves are exactly the operations its document lists (and the hostile
 *     suite's route table), so a route added without documentation fails here;
 *   - every answer real requests get, success or problem, matches the schema the document gives
 *     for that route and status (read from the served document, so document and reality cannot
 *     drift apart), and every documented route's success answer is exercised;
 *   - /docs is one page that loads nothing from anywhere but its own service.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type ReadApiDeps, createApp as readApiApp } from "@a4c/read-api";
import { createRegistry, tokenHash } from "@a4c/shared";
import { type GatewayDeps, createApp as gatewayApp } from "@a4c/write-gateway";
import { FormatRegistry, type TLiteralValue, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ROOT, ServiceProcess } from "../../infra/index.ts";
import { type Answer, createUser, del, get, post, settle } from "../helpers/client.ts";
import { freePort } from "../helpers/ports.ts";
import { startStack, type TestStack } from "../helpers/stack.ts";
import { ROUTES } from "../hostile/routes.ts";

interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  patternProperties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  [rule: string]: unknown;
}
interface Documented {
  description: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, { schema: JsonSchema }>;
}
interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses?: Record<string, Documented>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}
type Service = "gateway" | "readApi";

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
FormatRegistry.Set("date-time", (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)));
FormatRegistry.Set("uuid", (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v));
const RULES = ["pattern", "format", "minLength", "maxLength", "minimum", "maximum"];

/**
 * A document's JSON Schema as a TypeBox schema. Objects are closed here (the document does not
 * promise that): a field the service sends but the document does not name fails the check.
 */
function typeBox(s: JsonSchema, doc: Doc): TSchema {
  if (s.$ref) {
    const target = doc.components.schemas[s.$ref.replace("#/components/schemas/", "")];
    if (!target) throw new Error(`${s.$ref} does not resolve`);
    return typeBox(target, doc);
  }
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return Type.Union(alternatives.map((a) => typeBox(a, doc)));
  if ("const" in s) return Type.Literal(s.const as TLiteralValue);
  if (s.enum) return Type.Union(s.enum.map((v) => Type.Literal(v as TLiteralValue)));
  if (Array.isArray(s.type)) return Type.Union(s.type.map((type) => typeBox({ ...s, type }, doc)));
  const rules = Object.fromEntries(RULES.filter((r) => r in s).map((r) => [r, s[r]]));
  switch (s.type) {
    case "object": {
      const values = Object.values(s.patternProperties ?? {});
      if (values[0]) return Type.Record(Type.String(), typeBox(values[0], doc));
      const required = new Set(s.required ?? []);
      const fields = Object.entries(s.properties ?? {}).map(([k, v]) => {
        const field = typeBox(v, doc);
        return [k, required.has(k) ? field : Type.Optional(field)] as const;
      });
      return Type.Object(Object.fromEntries(fields), { additionalProperties: false });
    }
    case "array":
      return Type.Array(typeBox(s.items ?? {}, doc));
    case "string":
      return Type.String(rules);
    case "integer":
      return Type.Integer(rules);
    case "number":
      return Type.Number(rules);
    case "boolean":
      return Type.Boolean();
    case "null":
      return Type.Null();
    default:
      return Type.Unknown();
  }
}

const toDocPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");
const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
  );

let stack: TestStack;
const docs = {} as Record<Service, Doc>;
/** Which route and status pairs real answers were checked for: "GET /v1/me 200". */
const seen = new Set<string>();
let alice: { userId: string; token: string };
/** The client's `get`, pointed at the gateway. */
let gatewayGet: (path: string, token?: string) => Promise<Answer>;

/** Asserts that the document of `service` gives this answer's status, headers and body for the route. */
function expectDocumented(service: Service, method: string, route: string, a: Answer<unknown>): void {
  const doc = docs[service];
  const key = `${method} ${toDocPath(route)}`;
  const where = `${service} ${key} → ${a.status}`;
  const documented = doc.paths[toDocPath(route)]?.[method.toLowerCase()]?.responses?.[String(a.status)];
  if (!documented) throw new Error(`${where}: this status is not documented for the route`);
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    if (header.required) expect(a.headers.get(name), `${where}: header ${name}`).not.toBeNull();
  }
  const type = (a.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const media = documented.content?.[type];
  if (!media) throw new Error(`${where}: content type ${type} is not documented`);
  const errors = [...Value.Errors(typeBox(media.schema, doc), a.body)].map((e) => `${e.path} ${e.message}`);
  expect(errors, `${where}: ${JSON.stringify(a.body).slice(0, 500)}`).toEqual([]);
  seen.add(`${service} ${key} ${a.status}`);
}

/** Sends, checks against the document, and returns the answer. */
async function read(route: string, path: string, token?: string): Promise<Answer> {
  const a = await get(stack, path, token);
  expectDocumented("readApi", "GET", route, a);
  return a;
}

/** A stream that stays open: its status, headers and first chunk, then it is closed. */
async function readStreamStart(route: string, path: string, token: string): Promise<Answer<unknown>> {
  const controller = new AbortController();
  const r = await fetch(`${stack.readApi.url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const first = await (r.body as ReadableStream<Uint8Array>).getReader().read();
  controller.abort();
  const a = { status: r.status, headers: r.headers, body: new TextDecoder().decode(first.value) };
  expectDocumented("readApi", "GET", route, a);
  return a;
}

async function write(method: "POST" | "DELETE", route: string, send: () => Promise<Answer>): Promise<Answer> {
  const a = await send();
  expectDocumented("gateway", method, route, a);
  return a;
}

/** The same search answered by PostgreSQL: a read-api whose Elasticsearch is a closed port. */
async function searchWithoutElasticsearch(): Promise<void> {
  const dir = join(stack.dir, "fallback");
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const env = { ...stack.readApi.env, ELASTICSEARCH_URL: `http://127.0.0.1:${await freePort()}`, PORT: String(port) };
  const fallback = new ServiceProcess("read-api", ROOT, dir, dir, port, env);
  await fallback.start();
  try {
    const a = await get({ ...stack, readApi: fallback }, "/v1/jobs", alice.token);
    expectDocumented("readApi", "GET", "/v1/jobs", a);
    expect(a.body).toMatchObject({ source: "postgres", degraded: true });
    expect((a.body.items as unknown[]).length).toBeGreaterThan(0);
  } finally {
    await fallback.stop();
  }
}

beforeAll(async () => {
  stack = await startStack("openapi", { env: { A4C_MAX_BODY_BYTES: "2048" } });
  gatewayGet = (path, token) => get({ ...stack, readApi: stack.gateway }, path, token);
  docs.gateway = (await gatewayGet("/openapi.json", "")).body as unknown as Doc;
  docs.readApi = (await get(stack, "/openapi.json", "")).body as unknown as Doc;
  alice = await createUser(stack, "Alice");
}, 60_000);
afterAll(() => stack?.stop());

describe("every route is documented", () => {
  // The apps' route tables, as built: no dependency is called before a request comes.
  const inert = { metrics: { registry: createRegistry("openapi-test") } };
  const served: Record<Service, string[]> = {
    gateway: gatewayApp(inert as unknown as GatewayDeps).routes.map((r) => `${r.method} ${r.path}`),
    readApi: readApiApp(inert as unknown as ReadApiDeps).routes.map((r) => `${r.method} ${r.path}`),
  };
  /** The document does not list itself. */
  const SELF = ["GET /openapi.json", "GET /docs"];

  for (const service of ["gateway", "readApi"] as const) {
    test(`${service}: the document lists exactly the routes served, each with its answers`, () => {
      const doc = docs[service];
      expect(doc.openapi).toStartWith("3.1.");
      const documented = operations(doc).map((o) => o.key);
      const expected = served[service].filter((r) => !SELF.includes(r)).map(toDocPath);
      expect(documented.sort()).toEqual(expected.sort());
      for (const { key, op } of operations(doc)) {
        expect(op.summary, `${key}: summary`).toBeString();
        expect(op.tags?.length, `${key}: tags`).toBeGreaterThan(0);
        const statuses = Object.keys(op.responses ?? {});
        expect(
          statuses.some((s) => s.startsWith("2")),
          `${key}: a success answer`,
        ).toBe(true);
        if (op.security === undefined) expect(statuses, `${key}: needs a token, so 401`).toContain("401");
        for (const [status, answer] of Object.entries(op.responses ?? {})) {
          if (status.startsWith("2") || key === "GET /ready") continue;
          expect(answer.content?.["application/problem+json"]?.schema, `${key} ${status}`).toEqual({
            $ref: "#/components/schemas/Problem",
          });
        }
      }
    });

    test(`${service}: the hostile suite's route table has every route served`, () => {
      const rows = ROUTES.filter((r) => r.service === service && !r.path.includes(":anything"));
      expect(rows.map((r) => `${r.method} ${r.path}`).sort()).toEqual([...served[service]].sort());
    });
  }
});

describe("real answers match the documented schemas", () => {
  test("ops routes, on both services", async () => {
    for (const [service, fetchOps] of [
      ["gateway", gatewayGet],
      ["readApi", (path: string, token?: string) => get(stack, path, token)],
    ] as const) {
      for (const path of ["/health", "/ready", "/metrics"])
        expectDocumented(service, "GET", path, await fetchOps(path));
      expectDocumented(service, "GET", "/metrics", await fetchOps("/metrics", "not-a-token"));
    }
  });

  test("users: create (admin), replay, status, me, read; and each refusal", async () => {
    const key = crypto.randomUUID();
    const body = { name: "Bob", email: `${crypto.randomUUID()}@example.com` };
    const created = await write("POST", "/v1/users", () => post(stack, "/v1/users", body, { key }));
    expect(created.status).toBe(202);
    const op = created.body.operationId as string;
    await read("/status/:operationId", `/status/${op}`);
    const replay = await write("POST", "/v1/users", () => post(stack, "/v1/users", body, { key }));
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await settle(stack, op)).body.status).toBe("completed");
    await read("/status/:operationId", `/status/${op}?wait=1`);
    const bob = { userId: created.body.userId as string, token: created.body.token as string };

    expect((await read("/v1/me", "/v1/me")).body).toEqual({ kind: "admin" });
    expect((await read("/v1/me", "/v1/me", bob.token)).body.kind).toBe("user");
    await read("/v1/users/:userId", `/v1/users/${bob.userId}`, bob.token);

    const refusals: Array<[number, () => Promise<Answer>]> = [
      [401, () => post(stack, "/v1/users", body, { token: null })],
      [403, () => post(stack, "/v1/users", body, { token: bob.token })],
      [400, () => post(stack, "/v1/users", body, { key: null })],
      [400, () => post(stack, "/v1/users", { name: "" })],
      [413, () => post(stack, "/v1/users", { name: "x".repeat(4096), email: "big@example.com" })],
      [415, () => post(stack, "/v1/users", null, { raw: "name=x", headers: { "content-type": "text/plain" } })],
      [422, () => post(stack, "/v1/users", { ...body, name: "Not Bob" }, { key })],
    ];
    for (const [status, send] of refusals) expect((await write("POST", "/v1/users", send)).status).toBe(status);
    for (const [status, path, token] of [
      [401, "/v1/me", ""],
      [400, "/v1/users/not-a-uuid", undefined],
      [403, `/v1/users/${alice.userId}`, bob.token],
      [404, `/v1/users/${crypto.randomUUID()}`, undefined],
    ] as const) {
      const route = path === "/v1/me" ? "/v1/me" : "/v1/users/:userId";
      expect((await read(route, path, token)).status).toBe(status);
    }
    const unknownOp = `op-u-${"0".repeat(24)}-${"0".repeat(12)}`;
    expect((await read("/status/:operationId", `/status/${unknownOp}`)).status).toBe(404);
    expect((await read("/status/:operationId", `/status/${op}?wait=-1`)).status).toBe(400);
  }, 60_000);

  test("workspaces and jobs: create, status events, read, list, search, cancel, delete", async () => {
    const route = "/v1/users/:userId/workspaces";
    const mine = `/v1/users/${alice.userId}/workspaces`;
    const created = await write("POST", route, () =>
      post(stack, mine, { projectName: "backend-api" }, { token: alice.token }),
    );
    expect(created.status).toBe(202);
    const { operationId, workspaceId, jobId } = created.body as Record<string, string>;
    expect((await settle(stack, operationId as string, alice.token)).body.status).toBe("completed");

    const events = await read("/status/:operationId/events", `/status/${operationId}/events`, alice.token);
    const data = String(events.body)
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)) as unknown);
    expect(data.length).toBeGreaterThan(0);
    // The document says each event's data is an OperationView.
    const view = typeBox({ $ref: "#/components/schemas/OperationView" }, docs.readApi);
    for (const d of data) expect([...Value.Errors(view, d)].map((e) => `${e.path} ${e.message}`)).toEqual([]);
    expect((await read("/status/:operationId/events", `/status/${operationId}/events?follow=x`)).status).toBe(400);

    await read("/v1/workspaces/:workspaceId", `/v1/workspaces/${workspaceId}`, alice.token);
    await read(route, `${mine}?limit=1`, alice.token);
    await read("/v1/jobs/:jobId", `/v1/jobs/${jobId}`, alice.token);
    const live = await readStreamStart("/v1/jobs/events", `/v1/jobs/events?ids=${jobId}`, alice.token);
    expect(String(live.body)).toContain("event: ready");
    expect((await read("/v1/jobs/events", "/v1/jobs/events?ids=nope", alice.token)).status).toBe(400);
    await read("/v1/jobs", "/v1/jobs?q=status:scheduled", alice.token);
    await read("/v1/jobs", "/v1/jobs");
    await searchWithoutElasticsearch();
    expect((await read("/v1/workspaces/:workspaceId", `/v1/workspaces/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await read("/v1/jobs/:jobId", "/v1/jobs/nope")).status).toBe(400);
    expect((await read("/v1/jobs", "/v1/jobs?sort=sideways")).status).toBe(400);
    expect((await read(route, `/v1/users/${crypto.randomUUID()}/workspaces`, alice.token)).status).toBe(403);

    const cancel = await write("POST", "/v1/jobs/:jobId/cancel", () =>
      post(stack, `/v1/jobs/${jobId}/cancel`, undefined, { token: alice.token }),
    );
    expect(cancel.status).toBe(202);
    await settle(stack, cancel.body.operationId as string, alice.token);
    expect(
      (
        await write("POST", route, () =>
          post(stack, `/v1/users/${crypto.randomUUID()}/workspaces`, {}, { token: alice.token }),
        )
      ).status,
    ).toBe(403);

    const other = await post(stack, mine, { projectName: "to-delete" }, { token: alice.token });
    await settle(stack, other.body.operationId as string, alice.token);
    const deleted = await write("DELETE", `${route}/:workspaceId`, () =>
      del(stack, `${mine}/${other.body.workspaceId}`, { token: alice.token }),
    );
    expect(deleted.status).toBe(202);
    expectDocumented("readApi", "GET", "/status/:operationId", await settle(stack, deleted.body.operationId as string));
    // Cancelling the cancelled job again fails: a failed operation's status, with its error.
    const again = await post(stack, `/v1/jobs/${jobId}/cancel`, undefined, { token: alice.token });
    const failed = await settle(stack, again.body.operationId as string, alice.token);
    expectDocumented("readApi", "GET", "/status/:operationId", failed);
  }, 60_000);

  test("hosts and cleanup (admin): register, drain, list", async () => {
    const host = {
      name: `openapi-${Date.now().toString(36)}`,
      sshAddress: "127.0.0.1:2222",
      hostKeySha256: `SHA256:${"A".repeat(43)}`,
    };
    const registered = await write("POST", "/v1/hosts", () => post(stack, "/v1/hosts", host));
    expect(registered.status).toBe(202);
    expect((await settle(stack, registered.body.operationId as string)).body.status).toBe("completed");
    const hostId = registered.body.hostId as string;
    const action = "/v1/hosts/:hostId/:action";
    expect((await write("POST", action, () => post(stack, `/v1/hosts/${hostId}/drain`, undefined))).status).toBe(202);
    expect((await write("POST", action, () => post(stack, `/v1/hosts/${hostId}/explode`, undefined))).status).toBe(404);

    const hosts = await read("/v1/hosts", "/v1/hosts");
    expect((hosts.body as unknown as Array<{ id: string }>).map((h) => h.id)).toContain(hostId);
    expect((await read("/v1/hosts", "/v1/hosts", alice.token)).status).toBe(403);
    await read("/v1/cleanup/actions", "/v1/cleanup/actions?limit=5");
    expect((await read("/v1/cleanup/actions", "/v1/cleanup/actions?cursor=x")).status).toBe(400);
  }, 60_000);

  test("images, build jobs and their logs, schedules; what a CI token is refused", async () => {
    // Seeded as the processor, the provisioner and the scheduler write them (this stack runs neither).
    const { sql } = stack;
    const imageId = crypto.randomUUID();
    const jobId = crypto.randomUUID();
    const hostId = crypto.randomUUID();
    const scheduleId = crypto.randomUUID();
    const tokenId = crypto.randomUUID();
    const commit = randomBytes(20).toString("hex");
    const ci = `a4c_ci_${randomBytes(16).toString("base64url")}`;
    await sql`INSERT INTO api_token (id, kind, name, token_hash, created_by)
              VALUES (${tokenId}, 'ci', 'openapi', decode(${tokenHash(ci)}, 'hex'), 'admin')`;
    await sql`INSERT INTO hosts (id, name, ssh_host, ssh_port, host_key)
              VALUES (${hostId}, ${`openapi-img-${commit.slice(0, 6)}`}, '127.0.0.2', 2222, ${`SHA256:${"B".repeat(43)}`})`;
    await sql.begin(async (tx) => {
      await tx`INSERT INTO image (id, repository, commit_sha, ref, trigger, tag, status, dockerfile, job_id, requested_by,
                                 digest, size_bytes, built_at)
               VALUES (${imageId}, 'openapi/app', ${commit}, 'main', 'request', ${`a4c/openapi/app:${commit}`}, 'READY',
                       'FROM a4c/base:latest', ${jobId}, ${`ci:${tokenId}`}, ${`sha256:${"e".repeat(64)}`}, 4096, now())`;
      await tx`INSERT INTO job (id, type, status, step, user_id, image_id, operation_id)
               VALUES (${jobId}, 'IMAGE_BUILD', 'COMPLETED', 'distribute', NULL, ${imageId}, ${`op-${jobId}`})`;
    });
    await sql`INSERT INTO image_host (image_id, host_id, how) VALUES (${imageId}, ${hostId}, 'built')`;
    await sql`INSERT INTO job_log (job_id, step, line) VALUES (${jobId}, 'build', 'Step 1/1 : FROM a4c/base:latest'),
                                                             (${jobId}, 'build', 'Successfully built')`;
    await sql`INSERT INTO schedule (id, repository, ref, cron, created_by, last_tick_at, last_outcome)
              VALUES (${scheduleId}, 'openapi/app', 'main', '0 * * * *', 'admin', now(), 'nothing to build')`;
    await sql`INSERT INTO schedule_tick (schedule_id, tick_at, image_id, outcome, claimed_by)
              VALUES (${scheduleId}, now(), NULL, 'nothing to build', 'openapi')`;

    const images = await read("/v1/images", "/v1/images?limit=1", ci);
    expect((images.body.items as Array<{ id: string }>)[0]?.id).toBe(imageId);
    expect((await read("/v1/images", "/v1/images?status=bogus")).status).toBe(400);
    await read("/v1/images/:imageId", `/v1/images/${imageId}`, alice.token);
    expect((await read("/v1/images/:imageId", `/v1/images/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await read("/v1/images/:imageId", "/v1/images/nope")).status).toBe(400);
    expect((await read("/v1/jobs/:jobId", `/v1/jobs/${jobId}`, ci)).body).toMatchObject({ userId: null, imageId });
    const log = await read("/v1/jobs/:jobId/log", `/v1/jobs/${jobId}/log?limit=1`, ci);
    expect(log.body.next).toBeString();
    expect((await read("/v1/jobs/:jobId/log", `/v1/jobs/${jobId}/log?limit=0`, ci)).status).toBe(400);
    expect((await read("/v1/jobs/:jobId/log", `/v1/jobs/${crypto.randomUUID()}/log`, ci)).status).toBe(404);
    const schedules = await read("/v1/schedules", "/v1/schedules");
    expect((schedules.body.items as Array<{ id: string }>).map((s) => s.id)).toContain(scheduleId);
    expect((await read("/v1/schedules", "/v1/schedules", alice.token)).status).toBe(403);
    for (const route of ["/v1/me", "/v1/jobs", "/v1/hosts", "/v1/cleanup/actions"]) {
      expect((await read(route, route, ci)).status).toBe(403);
    }
    expect((await read("/v1/workspaces/:workspaceId", `/v1/workspaces/${crypto.randomUUID()}`, ci)).status).toBe(403);

    // The writes: a ci token, a build (by that token), a schedule made and deleted; and refusals.
    const token = await write("POST", "/v1/tokens", () => post(stack, "/v1/tokens", { kind: "ci", name: "openapi" }));
    expect(token.status).toBe(202);
    expectDocumented("readApi", "GET", "/status/:operationId", await settle(stack, token.body.operationId as string));
    const build = {
      repository: "openapi/app",
      commitSha: randomBytes(20).toString("hex"),
      dockerfile: "FROM a4c/base:latest",
    };
    const built = await write("POST", "/v1/images/builds", () =>
      post(stack, "/v1/images/builds", build, { token: token.body.token as string }),
    );
    expect(built.status).toBe(202);
    expectDocumented(
      "readApi",
      "GET",
      "/status/:operationId",
      await settle(stack, built.body.operationId as string, token.body.token as string),
    );
    expect(
      (await write("POST", "/v1/images/builds", () => post(stack, "/v1/images/builds", { ...build, commitSha: "x" })))
        .status,
    ).toBe(400);
    expect(
      (await write("POST", "/v1/images/builds", () => post(stack, "/v1/images/builds", build, { token: alice.token })))
        .status,
    ).toBe(403);
    const schedule = await write("POST", "/v1/schedules", () =>
      post(stack, "/v1/schedules", { repository: "openapi/app", ref: "main", cron: "0 3 * * *" }),
    );
    expect(schedule.status).toBe(202);
    await settle(stack, schedule.body.operationId as string);
    const removed = await write("DELETE", "/v1/schedules/:scheduleId", () =>
      del(stack, `/v1/schedules/${schedule.body.scheduleId}`),
    );
    expect(removed.status).toBe(202);
    expect((await settle(stack, removed.body.operationId as string)).body.status).toBe("completed");
  }, 60_000);

  test("every documented route's success answer was checked above", () => {
    for (const service of ["gateway", "readApi"] as const) {
      for (const { key, op } of operations(docs[service])) {
        const success = Object.keys(op.responses ?? {}).find((s) => s.startsWith("2"));
        expect([...seen], `${service} ${key} ${success}`).toContain(`${service} ${key} ${success}`);
      }
    }
  });
});

describe("/docs", () => {
  for (const service of ["gateway", "readApi"] as const) {
    test(`${service}: one page that renders openapi.json and loads nothing from elsewhere`, async () => {
      const r = await fetch(`${stack[service].url}/docs`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith("text/html");
      const html = await r.text();
      expect(html).not.toMatch(/https?:|\/\/[a-z0-9]/i);
      for (const [, ref] of html.matchAll(/\b(?:src|href|action)\s*=\s*["']?([^"'\s>]+)/gi)) {
        expect(ref, "a same-origin, relative reference").not.toMatch(/^([a-z][a-z0-9+.-]*:|\/\/)/i);
      }
      expect(html).toContain('fetch("openapi.json")');
      // The browser enforces it: only this page's own script and style, requests to its origin only.
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("connect-src 'self'");
      for (const [tag, directive] of [
        ["script", "script-src"],
        ["style", "style-src"],
      ]) {
        const inline = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)?.[1] ?? "";
        const hash = createHash("sha256").update(inline).digest("base64");
        expect(csp).toContain(`${directive} 'sha256-${hash}'`);
      }
    });
  }
});
