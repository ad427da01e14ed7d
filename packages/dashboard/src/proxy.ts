/**
 * Passes a request on to one of our services and its answer back, streaming both ways (an SSE
 * stream stays open as long as the client listens; the client going away cancels the upstream
 * request). An upstream that cannot be reached is a 503 problem with Retry-After, so clients retry
 * it like any other 503; one whose connection breaks once the request is sent is a 502 (it may
 * have acted: not to be retried blindly); one that does not start answering in time is a 504.
 */
import { HttpProblem, type Logger, problemResponse, problems } from "@a4c/shared";
import type { Target, Upstream } from "./routes.ts";

/** Connection-level headers, which belong to one hop and are never passed on. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

const SERVICE_NAMES: Record<Upstream, string> = {
  gateway: "the write gateway",
  readApi: "the read API",
  processor: "the write processor",
  esSync: "es-sync",
  provisioner: "the provisioner",
};

/** The headers to pass on: all but `drop` and those the message's own `Connection` names (hop-by-hop too). */
function copyHeaders(from: Headers, drop: Set<string>): Headers {
  const named = (from.get("connection") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const out = new Headers();
  from.forEach((value, name) => {
    if (!drop.has(name) && !named.includes(name)) out.set(name, value);
  });
  return out;
}

/** Errors that mean the request never reached the service: safe for a client to send again. */
const NOT_DELIVERED = new Set(["ConnectionRefused", "ECONNREFUSED", "FailedToOpenSocket", "ENOTFOUND", "EHOSTUNREACH"]);

/** Bun decodes compressed answers itself; the length and encoding it was sent with no longer hold. */
const ANSWER_DROP = new Set([...HOP_BY_HOP, "content-encoding", "content-length"]);

export interface ProxyOptions {
  urls: Record<Upstream, string>;
  timeoutMs: number;
  log: Logger;
  observe: (upstream: Upstream, status: number, seconds: number) => void;
}

export async function forward(request: Request, target: Target, o: ProxyOptions): Promise<Response> {
  const started = performance.now();
  const incoming = new URL(request.url);
  const url = `${o.urls[target.upstream]}${target.path}${incoming.search}`;
  // The deadline covers the wait for the answer's headers only: a stream may then last.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), o.timeoutMs);
  const hasBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== null;
  let response: Response;
  try {
    const answer = await fetch(url, {
      method: request.method,
      headers: copyHeaders(request.headers, HOP_BY_HOP),
      body: hasBody ? request.body : undefined,
      redirect: "manual",
      signal: AbortSignal.any([request.signal, deadline.signal]),
    });
    response = new Response(answer.body, { status: answer.status, headers: copyHeaders(answer.headers, ANSWER_DROP) });
  } catch (err) {
    response = failure(err, target.upstream, deadline.signal.aborted, request.signal.aborted, o.log);
  } finally {
    clearTimeout(timer);
  }
  o.observe(target.upstream, response.status, (performance.now() - started) / 1000);
  return response;
}

function failure(err: unknown, upstream: Upstream, timedOut: boolean, clientGone: boolean, log: Logger): Response {
  const name = SERVICE_NAMES[upstream];
  if (clientGone) return new Response(null, { status: 499 });
  if (timedOut) {
    log.warn({ event: "upstream.timeout", upstream });
    return problemResponse(new HttpProblem(504, "Gateway Timeout", `${name} did not answer in time; retry later`));
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && NOT_DELIVERED.has(code)) {
    log.warn({ event: "upstream.unreachable", upstream, code });
    return problemResponse(problems.unavailable(`${name} is unreachable; retry later`, 1));
  }
  // It may have got the request (the connection broke while it answered): not a "retry freely" 503.
  log.warn({ event: "upstream.failed", upstream, err });
  return problemResponse(
    new HttpProblem(502, "Bad Gateway", `${name} failed while answering; check the result before sending it again`),
  );
}
