/**
 * Passes a request on to one of our services and its answer back, streaming both ways (an SSE
 * stream stays open as long as the client listens; the client going away cancels the upstream
 * request). An upstream that cannot be reached is a 503 problem with Retry-After, so clients retry
 * it like any other 503; one that does not start answering in time is a 504.
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

function copyHeaders(from: Headers, drop: Set<string>): Headers {
  const out = new Headers();
  from.forEach((value, name) => {
    if (!drop.has(name)) out.set(name, value);
  });
  return out;
}

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
  log.warn({ event: "upstream.unreachable", upstream, err });
  return problemResponse(problems.unavailable(`${name} is unreachable; retry later`, 1));
}
