import {
  type Authenticator,
  actorId,
  type Command,
  type Entity,
  elysiaErrorToProblem,
  HttpProblem,
  isValidIdempotencyKey,
  type Logger,
  mayActFor,
  opsRoutes,
  type Principal,
  problemResponse,
  problems,
  type ReadyCheck,
  requestFingerprint,
  tokenHash,
  toProblemResponse,
  userToken,
} from "@a4c/shared";
import { Elysia } from "elysia";
import type { AcceptService } from "./accept.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { WriteRateLimiter } from "./rate-limit.ts";
import { validateCreateUser, validateCreateWorkspace, validateUuid } from "./requests.ts";

export interface GatewayDeps {
  auth: Authenticator;
  accept: AcceptService;
  limiter: WriteRateLimiter;
  metrics: GatewayMetrics;
  log: Logger;
  ready: ReadyCheck;
  maxBodyBytes: number;
  defaultImage: string;
  tokenSecret: string;
}

interface WriteSpec<B> {
  route: string;
  params: Record<string, string>;
  /** The user the request acts for; null for admin-only routes. */
  actsFor: string | null;
  entity: Entity;
  body: (raw: unknown) => B;
  command: (principal: Principal, body: B, operationId: string) => Command;
}

/** Reads a JSON body with a hard size limit, whatever Content-Length claims. */
async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  const text = await request.text();
  if (Buffer.byteLength(text) > limit) throw problems.tooLarge(limit);
  if (text.length === 0) return undefined;
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    throw problems.badRequest("request bodies must be JSON with Content-Type: application/json");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw problems.badRequest("the request body is not valid JSON");
  }
}

export function createApp(d: GatewayDeps) {
  /** The whole write pipeline; each route only says what differs. Order: 401, 429, 403, 400, 202. */
  async function write<B>(request: Request, rawBody: unknown, spec: WriteSpec<B>): Promise<Response> {
    const started = performance.now();
    let response: Response;
    try {
      const principal = await d.auth.authenticate(request.headers.get("authorization"));
      const actor = actorId(principal);
      await d.limiter.consume(actor);
      if (spec.actsFor === null ? principal.kind !== "admin" : !mayActFor(principal, spec.actsFor)) {
        throw problems.forbidden(
          spec.actsFor === null ? "only the admin may do this" : "you may only act for your own user",
        );
      }
      const key = request.headers.get("idempotency-key");
      if (!isValidIdempotencyKey(key)) {
        throw problems.badRequest(
          key === null
            ? "the Idempotency-Key header is required"
            : "the Idempotency-Key header must be 1 to 255 printable ASCII characters",
        );
      }
      const body = spec.body(rawBody);
      const accepted = await d.accept.submit({
        actor,
        idempotencyKey: key,
        fingerprint: requestFingerprint(request.method, spec.route, spec.params, rawBody ?? null),
        entity: spec.entity,
        command: (operationId) => spec.command(principal, body, operationId),
      });
      if (accepted.replayed) d.metrics.replays.inc();
      const headers: Record<string, string> = {
        location: `/status/${accepted.operationId}`,
        "retry-after": "1",
      };
      if (accepted.replayed) headers["idempotent-replayed"] = "true";
      response = Response.json(accepted.body, { status: 202, headers });
    } catch (err) {
      response = toProblemResponse(err, d.log, new URL(request.url).pathname);
    }
    d.metrics.requests.inc({ route: spec.route, status: response.status });
    d.metrics.latency.observe({ route: spec.route }, (performance.now() - started) / 1000);
    return response;
  }

  return new Elysia()
    .use(opsRoutes(d.metrics.registry, d.ready))
    .onRequest(({ request }) => {
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > d.maxBodyBytes)
        return problemResponse(problems.tooLarge(d.maxBodyBytes), new URL(request.url).pathname);
    })
    .onParse(({ request }) => readJsonBody(request, d.maxBodyBytes))
    .onError(({ code, error, request }) => {
      const path = new URL(request.url).pathname;
      const mapped = error instanceof HttpProblem ? null : elysiaErrorToProblem(code, error);
      return mapped ? problemResponse(mapped, path) : toProblemResponse(error, d.log, path);
    })
    .post("/v1/users", ({ request, body }) =>
      write(request, body, {
        route: "/v1/users",
        params: {},
        actsFor: null,
        entity: "users",
        body: validateCreateUser,
        command: (_p, b, operationId) => ({
          type: "user.create",
          userId: Bun.randomUUIDv7(),
          name: b.name,
          email: b.email,
          // The token itself is derived again from the operation id for each (re)played answer.
          tokenHash: tokenHash(userToken(d.tokenSecret, operationId)),
        }),
      }),
    )
    .post("/v1/users/:userId/workspaces", ({ request, body, params }) =>
      write(request, body, {
        route: "/v1/users/:userId/workspaces",
        params: { userId: params.userId },
        actsFor: params.userId,
        entity: "workspaces",
        body: (raw) => {
          validateUuid(params.userId);
          return validateCreateWorkspace(raw);
        },
        command: (_p, b) => ({
          type: "workspace.create",
          userId: params.userId,
          workspaceId: Bun.randomUUIDv7(),
          jobId: Bun.randomUUIDv7(),
          projectName: b.projectName,
          image: b.image ?? d.defaultImage,
        }),
      }),
    )
    .delete("/v1/users/:userId/workspaces/:workspaceId", ({ request, params }) =>
      write(request, undefined, {
        route: "/v1/users/:userId/workspaces/:workspaceId",
        params: { userId: params.userId, workspaceId: params.workspaceId },
        actsFor: params.userId,
        entity: "workspaces",
        body: () => {
          validateUuid(params.userId);
          validateUuid(params.workspaceId);
          return null;
        },
        command: () => ({
          type: "workspace.delete",
          userId: params.userId,
          workspaceId: params.workspaceId,
          jobId: Bun.randomUUIDv7(),
        }),
      }),
    );
}
