/**
 * What is sent again after a connection broke: a write with its Idempotency-Key (the server
 * answers a repeat as a replay), never an operator action without one (it may have acted).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server } from "node:http";
import { ApiClient } from "./client.ts";
import { UnreachableError } from "./errors.ts";

let server: Server;
let url = "";
let posts = 0;

beforeAll(async () => {
  server = createServer((req) => {
    posts++;
    req.socket.destroy(); // the request arrived; the answer never comes
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => server.close());

const client = () =>
  new ApiClient({ url, token: "t", retry: { budgetMs: 5_000, connectBudgetMs: 1_000 }, timeoutMs: 2_000 });

test("an operator action whose connection broke is not sent again", async () => {
  posts = 0;
  await expect(client().action("/ops/processor/dlq/replay")).rejects.toBeInstanceOf(UnreachableError);
  expect(posts).toBe(1);
});

test("a write with its Idempotency-Key is sent again, with the same key", async () => {
  posts = 0;
  await expect(client().post("/v1/users", "key-1", {})).rejects.toBeInstanceOf(UnreachableError);
  expect(posts).toBeGreaterThan(1);
});
