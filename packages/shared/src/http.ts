/**
 * What every HTTP service of ours shares: one error mapper (every error a client sees is
 * problem+json with our own type, title and detail), the ops routes, operator authentication, and
 * a JSON body reader that enforces the size limit itself while streaming.
 *
 * Which ops routes are open: `/health` and `/ready` answer anyone (load balancers and supervisors
 * probe them without credentials; they reveal only up/down and progress counters). `/metrics`
 * and every operator action need the admin token or, for `/metrics` only, the scraper's
 * `A4C_METRICS_TOKEN`.
 */
import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { bearerToken } from "./auth.ts";
import { classifyPgError } from "./db/client.ts";
import { HttpProblem, problemResponse, problems, UnavailableError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { metricsResponse, type Registry } from "./metrics.ts";
import { findUnsafeText } from "./text.ts";

export type ReadyCheck = () => Promise<Record<string, { ok: boolean; detail?: unknown }>>;

/**
 * Bun's own body limit answers a bare 413 with an empty body before our code runs. It is set out
 * of reach: the limit is enforced by `readJsonBody`, after authentication, as problem+json.
 */
export const LISTEN_OPTIONS = {
  maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  /**
   * Seconds a connection may stay silent (Bun's maximum; Elysia's default is 30). Long-polls wait
   * up to A4C_MAX_WAIT_SECONDS (at most 240), the front door gives a service 45 s to start
   * answering, and an operator action (a DLQ replay) may take minutes: none may be cut at 30 s.
   */
  idleTimeout: 255,
} as const;

/** Constant-time comparison of a presented bearer token with the accepted ones. */
export function tokenMatches(authorization: string | null, accepted: ReadonlyArray<string | undefined>): boolean {
  const token = bearerToken(authorization);
  if (!token) return false;
  const given = Buffer.from(token);
  return accepted.some((t) => {
    if (!t) return false;
    const want = Buffer.from(t);
    return want.length === given.length && timingSafeEqual(want, given);
  });
}

/** Operator endpoints: the admin token, else 401 (no or unknown token). */
export function requireOperator(request: Request, adminToken: string): void {
  if (!tokenMatches(request.headers.get("authorization"), [adminToken])) {
    throw problems.unauthorized("operator endpoints need the admin token");
  }
}

/** The one place errors become problem+json answers; nothing but our own text reaches a client. */
export function toProblemResponse(err: unknown, log: Logger, path: string): Response {
  if (err instanceof HttpProblem) return problemResponse(err);
  // A lost or refused PostgreSQL connection, wherever it surfaced, is an outage: 503, retry later.
  const dependency =
    err instanceof UnavailableError ? err.dependency : classifyPgError(err) === "unavailable" ? "postgres" : null;
  if (dependency) {
    log.warn({ event: "request.unavailable", dependency, path });
    return problemResponse(problems.unavailable(`${dependency} is unavailable; retry later`));
  }
  log.error({ event: "request.error", path, err });
  return problemResponse(new HttpProblem(500, "Internal Server Error", "unexpected error; it has been logged"));
}

/** Elysia's own lifecycle errors (routing, parsing, validation), in our words. */
function frameworkProblem(code: string | number): HttpProblem | null {
  switch (code) {
    case "NOT_FOUND":
      return problems.notFound("no such route");
    case "PARSE":
      return problems.badRequest("the request body could not be read");
    case "VALIDATION":
      return problems.badRequest("the request does not match this route's schema");
    case "INVALID_COOKIE_SIGNATURE":
      return problems.badRequest("invalid cookie");
    default:
      return null;
  }
}

export interface ServiceAppOptions {
  log: Logger;
  registry: Registry;
  ready: ReadyCheck;
  adminToken: string;
  /** A scraper's token for /metrics, besides the admin token. */
  metricsToken?: string | undefined;
}

/** The base of every service's app: error mapping for all routes, then /health, /ready, /metrics. */
export function serviceApp(o: ServiceAppOptions) {
  return new Elysia()
    .onError({ as: "global" }, ({ code, error, request }) => {
      const path = new URL(request.url).pathname;
      const mapped = error instanceof HttpProblem ? null : frameworkProblem(code);
      return mapped ? problemResponse(mapped) : toProblemResponse(error, o.log, path);
    })
    .get("/health", () => Response.json({ status: "ok" }))
    .get("/ready", async () => {
      const checks = await o.ready();
      const ok = Object.values(checks).every((c) => c.ok);
      return Response.json({ status: ok ? "ready" : "not_ready", checks }, { status: ok ? 200 : 503 });
    })
    .get("/metrics", ({ request }) => {
      if (!tokenMatches(request.headers.get("authorization"), [o.adminToken, o.metricsToken])) {
        return problemResponse(problems.unauthorized("/metrics needs the metrics token or the admin token"));
      }
      return metricsResponse(o.registry);
    });
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/**
 * Reads a JSON body, counting bytes as they arrive: a declared or streamed body over `limit` is a
 * 413 without reading the rest; a body that is not JSON is a 415; bad JSON or text a JSON value
 * cannot safely carry (control characters, lone surrogates) a 400. An empty body is `undefined`.
 * `isFile` names the fields (JSON pointers) that hold a file's text, where tabs and line ends are fine.
 */
export async function readJsonBody(
  request: Request,
  limit: number,
  isFile?: (path: string) => boolean,
): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw problems.tooLarge(limit);
  const bytes = await readLimited(request, limit);
  if (bytes.length === 0) return undefined;
  if (!JSON_TYPE.test(request.headers.get("content-type") ?? "")) throw problems.unsupportedMediaType();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw problems.badRequest("the request body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw problems.badRequest("the request body is not valid JSON");
  }
  const unsafe = findUnsafeText(value, "", isFile);
  if (unsafe) throw problems.badRequest(`body field ${unsafe.path} ${unsafe.reason}`);
  return value;
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw problems.tooLarge(limit);
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof HttpProblem) throw err;
    throw problems.badRequest("the request body could not be read");
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks);
}

/** `?limit=`: absent or empty is `o.default`; otherwise an integer from 1 to `o.max`, else a 400. */
export function pageLimit(raw: string | null | undefined, o: { default: number; max: number }): number {
  if (raw === null || raw === undefined || raw === "") return o.default;
  const n = /^\d{1,7}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1 && n <= o.max)) throw problems.badRequest(`limit must be an integer from 1 to ${o.max}`);
  return n;
}
