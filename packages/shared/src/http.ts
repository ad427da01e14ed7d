import { Elysia } from "elysia";
import { HttpProblem, problemResponse, problems, UnavailableError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { metricsResponse, type Registry } from "./metrics.ts";

export type ReadyCheck = () => Promise<Record<string, { ok: boolean; detail?: unknown }>>;

/** /health (the process is alive), /ready (its dependencies answer), /metrics (Prometheus). */
export function opsRoutes(registry: Registry, ready: ReadyCheck) {
  return new Elysia({ name: "ops" })
    .get("/health", () => Response.json({ status: "ok" }))
    .get("/ready", async () => {
      const checks = await ready();
      const ok = Object.values(checks).every((c) => c.ok);
      return Response.json({ status: ok ? "ready" : "not_ready", checks }, { status: ok ? 200 : 503 });
    })
    .get("/metrics", () => metricsResponse(registry));
}

/** The one place errors become problem+json answers. */
export function toProblemResponse(err: unknown, log: Logger, path: string): Response {
  if (err instanceof HttpProblem) return problemResponse(err, path);
  if (err instanceof UnavailableError) {
    log.warn({ event: "request.unavailable", dependency: err.dependency, path });
    return problemResponse(problems.unavailable(`${err.dependency} is unavailable; retry later`), path);
  }
  log.error({ event: "request.error", path, err });
  return problemResponse(new HttpProblem(500, "Internal Server Error", "unexpected error"), path);
}

/** Maps Elysia's own lifecycle errors (routing, parsing) to problems. */
export function elysiaErrorToProblem(code: string | number, err: unknown): HttpProblem | null {
  switch (code) {
    case "NOT_FOUND":
      return problems.notFound("no such route");
    case "PARSE":
      return problems.badRequest("the request body is not valid JSON");
    case "VALIDATION":
      return problems.badRequest(err instanceof Error ? err.message : "invalid request");
    case "INVALID_COOKIE_SIGNATURE":
      return problems.badRequest("invalid cookie");
    default:
      return null;
  }
}
