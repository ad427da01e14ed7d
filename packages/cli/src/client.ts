/**
 * The one HTTP client: every request goes to the front door with the token, is retried by the
 * rules of retry.ts (a write with the same Idempotency-Key on every attempt), and a non-2xx answer
 * becomes a ProblemError carrying the problem's title and detail.
 */
import { CliError, EXIT, ProblemError, UnreachableError } from "./errors.ts";
import { nextDelay, type Outcome, type RetryPolicy } from "./retry.ts";

export interface ClientOptions {
  url: string;
  token: string | null;
  retry: RetryPolicy;
  /** How long to wait for an answer's headers before counting the attempt as a timeout. */
  timeoutMs: number;
  /** A4C_DEBUG: one line per attempt. */
  debug?: (line: string) => void;
  /** A human notice that we are waiting to retry (printed once per request). */
  notice?: (line: string) => void;
}

/** How long an operator action may take to answer (the servers' own idle limit is 255 s). */
const ACTION_TIMEOUT_MS = 250_000;

export interface RequestOptions {
  /** Overrides the client's timeout for the answer's headers. */
  timeoutMs?: number;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export class ApiClient {
  constructor(readonly o: ClientOptions) {}

  get<T>(path: string, query?: RequestOptions["query"], signal?: AbortSignal): Promise<T> {
    return this.json<T>("GET", path, { query, signal });
  }

  post<T>(path: string, idempotencyKey: string, body?: unknown): Promise<T> {
    return this.json<T>("POST", path, { idempotencyKey, body });
  }

  delete<T>(path: string, idempotencyKey: string): Promise<T> {
    return this.json<T>("DELETE", path, { idempotencyKey });
  }

  /**
   * An admin operator action (no Idempotency-Key: these endpoints are not the write path). It may
   * run for minutes (a DLQ replay), and a broken connection is not retried: it may have acted.
   */
  action<T>(path: string): Promise<T> {
    return this.json<T>("POST", path, { timeoutMs: ACTION_TIMEOUT_MS });
  }

  /** An open response whose body the caller reads (an event stream); errors as for any request. */
  stream(path: string, signal: AbortSignal, query?: RequestOptions["query"]): Promise<Response> {
    return this.send("GET", path, { query, signal }, { accept: "text/event-stream" });
  }

  private async json<T>(method: string, path: string, r: RequestOptions): Promise<T> {
    const response = await this.send(method, path, r, { accept: "application/json" });
    const text = await response.text();
    if (text === "") return null as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new CliError("Unexpected answer", EXIT.unreachable, `${method} ${path} did not answer JSON`, {
        cause: err,
      });
    }
  }

  private async send(
    method: string,
    path: string,
    r: RequestOptions,
    extra: Record<string, string>,
  ): Promise<Response> {
    const url = new URL(this.o.url + path);
    for (const [k, v] of Object.entries(r.query ?? {}))
      if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { "user-agent": "a4c-cli", ...extra };
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    if (r.idempotencyKey) headers["idempotency-key"] = r.idempotencyKey;
    if (r.body !== undefined) headers["content-type"] = "application/json";
    const body = r.body === undefined ? undefined : JSON.stringify(r.body);
    const started = Date.now();
    let noticed = false;
    for (let attempt = 1; ; attempt++) {
      const keyNote = r.idempotencyKey ? ` idempotency-key=${r.idempotencyKey}` : "";
      this.o.debug?.(`→ ${method} ${url.pathname}${url.search} attempt=${attempt}${keyNote}`);
      let outcome: Outcome;
      let failure: unknown;
      try {
        const response = await fetchWithin(url, { method, headers, body }, r.timeoutMs ?? this.o.timeoutMs, r.signal);
        this.o.debug?.(`← ${response.status} ${method} ${url.pathname}`);
        if (response.ok) return response;
        outcome = { kind: "status", status: response.status, retryAfter: response.headers.get("retry-after") };
        const delay = nextDelay(outcome, attempt, Date.now() - started, this.o.retry);
        if (delay === null) throw await problemOf(response);
        failure = await problemOf(response);
        if (!noticed) this.o.notice?.(`${(failure as ProblemError).message} (${response.status}); retrying…`);
        noticed = true;
        await sleep(delay, r.signal);
        continue;
      } catch (err) {
        if (err instanceof CliError || r.signal?.aborted) throw err;
        outcome = { kind: "network" };
        failure = err;
      }
      // A read, or a write with its key, may be sent again; an unkeyed action that may have
      // reached the server may not (a refused connection never did).
      const resendable = method === "GET" || r.idempotencyKey !== undefined || neverSent(failure);
      const delay = resendable ? nextDelay(outcome, attempt, Date.now() - started, this.o.retry) : null;
      this.o.debug?.(`× ${method} ${url.pathname}: ${describe(failure)}`);
      if (delay === null) {
        throw new UnreachableError(`Cannot reach ${this.o.url}`, describe(failure), { cause: failure });
      }
      if (!noticed) this.o.notice?.(`Cannot reach ${this.o.url} (${describe(failure)}); retrying…`);
      noticed = true;
      await sleep(delay, r.signal);
    }
  }
}

/** fetch with a deadline on the answer's headers only: a stream may then last as long as it likes. */
async function fetchWithin(url: URL, init: RequestInit, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException("no answer in time", "TimeoutError")), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal });
  } finally {
    clearTimeout(timer);
  }
}

async function problemOf(response: Response): Promise<ProblemError> {
  const text = await response.text().catch(() => "");
  try {
    const p = JSON.parse(text) as { title?: unknown; detail?: unknown; type?: unknown };
    if (typeof p.title === "string") {
      return new ProblemError(
        response.status,
        p.title,
        typeof p.detail === "string" ? p.detail : undefined,
        typeof p.type === "string" ? p.type : undefined,
      );
    }
  } catch {
    // not a problem document: fall through
  }
  return new ProblemError(
    response.status,
    response.statusText || `HTTP ${response.status}`,
    text.slice(0, 200) || undefined,
  );
}

/** The connection was refused: the request cannot have reached the server. */
function neverSent(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "ECONNREFUSED";
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return "no answer in time";
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
