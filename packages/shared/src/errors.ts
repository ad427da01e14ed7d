/** SQLSTATE codes the system reacts to by name (PostgreSQL appendix A). */
export const SqlState = {
  UNIQUE_VIOLATION: "23505",
  FOREIGN_KEY_VIOLATION: "23503",
  CHECK_VIOLATION: "23514",
  NOT_NULL_VIOLATION: "23502",
  SERIALIZATION_FAILURE: "40001",
  DEADLOCK_DETECTED: "40P01",
  ADMIN_SHUTDOWN: "57P01",
  CRASH_SHUTDOWN: "57P02",
  CANNOT_CONNECT_NOW: "57P03",
  QUERY_CANCELED: "57014",
  LOCK_NOT_AVAILABLE: "55P03",
  TOO_MANY_CONNECTIONS: "53300",
} as const;

/** An error whose message is safe to show a client, with an HTTP status and a problem type. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(`${status} ${title}: ${detail}`, options);
    this.name = "HttpProblem";
  }

  get type(): string {
    return `https://a4c.dev/problems/${this.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  }
}

/** A dependency (PostgreSQL, NATS, Redis) cannot serve right now; the caller may retry later. */
export class UnavailableError extends Error {
  constructor(
    readonly dependency: string,
    options?: ErrorOptions,
  ) {
    super(`${dependency} is unavailable`, options);
    this.name = "UnavailableError";
  }
}

/**
 * The problem+json answer. It carries no `instance`: echoing the request's path would put whatever
 * the client sent (another user's id, say) back into an answer.
 */
export function problemResponse(problem: HttpProblem): Response {
  const body = { type: problem.type, title: problem.title, status: problem.status, detail: problem.detail };
  return new Response(JSON.stringify(body), {
    status: problem.status,
    headers: { "content-type": "application/problem+json", ...problem.headers },
  });
}

export const problems = {
  badRequest: (detail: string) => new HttpProblem(400, "Bad Request", detail),
  unauthorized: (detail = "a valid bearer token is required") =>
    new HttpProblem(401, "Unauthorized", detail, { "www-authenticate": 'Bearer realm="a4c"' }),
  forbidden: (detail: string) => new HttpProblem(403, "Forbidden", detail),
  notFound: (detail: string) => new HttpProblem(404, "Not Found", detail),
  tooLarge: (limit: number) =>
    new HttpProblem(413, "Content Too Large", `request bodies are limited to ${limit} bytes`),
  unsupportedMediaType: () =>
    new HttpProblem(
      415,
      "Unsupported Media Type",
      "request bodies must be JSON sent with Content-Type: application/json (not text, form or multipart data)",
    ),
  conflict: (detail: string) => new HttpProblem(409, "Conflict", detail),
  keyReuse: () =>
    new HttpProblem(
      422,
      "Idempotency Key Reused",
      "this Idempotency-Key was already used with a different request; use a new key for a new request",
    ),
  tooManyRequests: (retryAfterSeconds: number) =>
    new HttpProblem(429, "Too Many Requests", "rate limit exceeded for this token", {
      "retry-after": String(retryAfterSeconds),
    }),
  unavailable: (detail: string, retryAfterSeconds = 2) =>
    new HttpProblem(503, "Service Unavailable", detail, { "retry-after": String(retryAfterSeconds) }),
};

/** Exhaustiveness guard for `switch` over literal unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
