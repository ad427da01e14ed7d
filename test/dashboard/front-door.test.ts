/**
 * The front door's own answers when a service misbehaves, against a stand-in service: refused
 * connection → 503 with Retry-After (nothing was delivered: retry freely); a connection that
 * breaks once the request was sent → 502 (it may have acted); a service silent for longer than
 * Elysia's default 30 s idle limit is still waited for; a stream is passed on as it comes.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { ServiceProcess } from "../../infra/components/service.ts";
import { LOCAL, ROOT } from "../../infra/lib/paths.ts";
import { freePort } from "../helpers/ports.ts";

let standIn: Server;
let door: ServiceProcess;
const dir = join(LOCAL, "test", `front-door-${process.pid}`);

beforeAll(async () => {
  standIn = createServer((req, res) => {
    if (req.url === "/health") return void res.end('{"status":"ok"}');
    if (req.method === "POST") return void req.socket.destroy(); // read the request, then break
    if (req.url === "/v1/slow") {
      setTimeout(() => res.end('{"slow":true}'), 33_000);
      return;
    }
    if (req.url === "/status/stream") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("event: status\ndata: 1\n\n");
      setTimeout(() => res.end("event: status\ndata: 2\n\n"), 500);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  const port = await freePort();
  await new Promise<void>((ok) => standIn.listen(port, "127.0.0.1", ok));
  const refused = `http://127.0.0.1:${await freePort()}`;
  mkdirSync(dir, { recursive: true });
  const doorPort = await freePort();
  door = new ServiceProcess("dashboard", ROOT, dir, dir, doorPort, {
    A4C_ADMIN_TOKEN: "front-door-test-admin-token",
    A4C_GATEWAY_URL: `http://127.0.0.1:${port}`,
    A4C_READ_API_URL: `http://127.0.0.1:${port}`,
    A4C_PROCESSOR_URL: refused,
    A4C_ES_SYNC_URL: refused,
    A4C_PROVISIONER_URL: refused,
    PORT: String(doorPort),
  });
  await door.start();
});

afterAll(async () => {
  await door?.stop();
  standIn?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a service that refuses the connection: 503 problem with Retry-After", async () => {
  const r = await fetch(`${door.url}/ops/processor/dlq`);
  expect(r.status).toBe(503);
  expect(r.headers.get("retry-after")).toBe("1");
  expect(r.headers.get("content-type")).toContain("application/problem+json");
  expect(((await r.json()) as { detail: string }).detail).toContain("the write processor is unreachable");
});

test("a connection that breaks after the request was sent: 502, not a 503 to retry blindly", async () => {
  const r = await fetch(`${door.url}/v1/users`, { method: "POST", body: "{}" });
  expect(r.status).toBe(502);
  expect(r.headers.get("retry-after")).toBeNull();
  expect(((await r.json()) as { title: string }).title).toBe("Bad Gateway");
});

test("a stream is passed on event by event", async () => {
  const r = await fetch(`${door.url}/status/stream`);
  expect(r.headers.get("content-type")).toBe("text/event-stream");
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  expect(first).toContain("data: 1");
  expect(first).not.toContain("data: 2"); // the second event is half a second later
  await reader.cancel();
});

test("a service silent for 33 s (past Elysia's 30 s default idle limit) is still waited for", async () => {
  const r = await fetch(`${door.url}/v1/slow`);
  expect(r.status).toBe(200);
  expect(await r.json()).toEqual({ slow: true });
}, 60_000);
