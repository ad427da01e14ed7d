/** A small HTTP client for tests: the calls a CLI or dashboard would make. */
import { expect } from "bun:test";
import type { TestStack } from "./stack.ts";

export interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

async function call<T>(url: string, init: RequestInit): Promise<Answer<T>> {
  const r = await fetch(url, init);
  const text = await r.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: r.status, headers: r.headers, body: body as T };
}

export function post(
  stack: TestStack,
  path: string,
  body: unknown,
  opts: { token?: string | null; key?: string | null; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  const token = opts.token === undefined ? stack.adminToken : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const key = opts.key === undefined ? crypto.randomUUID() : opts.key;
  if (key !== null) headers["idempotency-key"] = key;
  return call(`${stack.gateway.url}${path}`, {
    method: "POST",
    headers,
    body: opts.raw ?? JSON.stringify(body),
  });
}

export function del(stack: TestStack, path: string, opts: { token?: string; key?: string } = {}): Promise<Answer> {
  return call(`${stack.gateway.url}${path}`, {
    method: "DELETE",
    headers: {
      authorization: `Bearer ${opts.token ?? stack.adminToken}`,
      "idempotency-key": opts.key ?? crypto.randomUUID(),
    },
  });
}

export function get(stack: TestStack, path: string, token?: string): Promise<Answer> {
  return call(`${stack.readApi.url}${path}`, { headers: { authorization: `Bearer ${token ?? stack.adminToken}` } });
}

/** Long-polls an operation until it is no longer pending. */
export async function settle(
  stack: TestStack,
  operationId: string,
  token?: string,
  timeoutMs = 30_000,
): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(stack, `/status/${operationId}?wait=5`, token);
    if (r.status !== 200 || r.body.status !== "pending" || Date.now() > deadline) return r;
  }
}

/** Creates a user through the public API and waits until it exists. */
export async function createUser(stack: TestStack, name = "Test User"): Promise<{ userId: string; token: string }> {
  const email = `${crypto.randomUUID()}@example.com`;
  const r = await post(stack, "/v1/users", { name, email });
  expect(r.status).toBe(202);
  const done = await settle(stack, r.body.operationId as string);
  expect(done.body.status).toBe("completed");
  return { userId: r.body.userId as string, token: r.body.token as string };
}

export function expectProblem(r: Answer, status: number): void {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toContain("application/problem+json");
  expect(r.body.status).toBe(status);
  expect(typeof r.body.title).toBe("string");
  expect(typeof r.body.detail).toBe("string");
  expect(typeof r.body.type).toBe("string");
}
