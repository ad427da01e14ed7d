import {
  type Authenticator,
  actorId,
  apiDocs,
  type Command,
  ciToken,
  type Entity,
  isValidIdempotencyKey,
  type Logger,
  mayActFor,
  type Principal,
  problems,
  type ReadyCheck,
  readJsonBody,
  requestedBuildIds,
  requestFingerprint,
  serviceApp,
  tokenHash,
  toProblemResponse,
  userToken,
} from "@a4c/shared";
import type { AcceptService } from "./accept.ts";
import { gatewayDocs } from "./docs.ts";
import type { GatewayMetrics } from "./metrics.ts";
import type { WriteRateLimiter } from "./rate-limit.ts";
import {
  validateBuildImage,
  validateCreateSchedule,
  validateCreateToken,
  validateCreateUser,
  validateCreateWorkspace,
  validateRegisterHost,
  validateUuid,
} from "./requests.ts";

export interface GatewayDeps {
  auth: Authenticator;
  accept: AcceptService;
  limiter: WriteRateLimiter;
  metrics: GatewayMetrics;
  log: Logger;
  ready: ReadyCheck;
  maxBodyBytes: number;
  /** Largest build context; a build request's body may be a quarter larger (JSON escapes). */
  maxBuildBytes: number;
  minScheduleIntervalS: number;
  adminToken: string;
  metricsToken?: string | undefined;
  defaultImage: string;
  tokenSecret: string;
}

interface WriteSpec<B> {
  route: string;
  params: Record<string, string>;
  /**
   * The user the request acts for; null for admin-only routes; "caller" when any user or the admin
   * may ask (the processor then checks ownership, as for a job's cancel); "builder" for the admin
   * and CI tokens. A CI token may do nothing else.
   */
  actsFor: string | null | { caller: true } | { builder: true };
  /** A body limit of the route's own, instead of the gateway's. */
  maxBodyBytes?: number;
  /** The body fields (JSON pointers) that hold a file's text: tabs and line ends allowed. */
  isFile?: (path: string) => boolean;
  entity: Entity;
  /** Whether the route takes a body; a route without one never reads it. */
  hasBody: boolean;
  body: (raw: unknown) => B;
  command: (principal: Principal, body: B, operationId: string) => Command;
}

function allowedTo(p: Principal, actsFor: WriteSpec<unknown>["actsFor"]): boolean {
  if (actsFor === null) return p.kind === "admin";
  if (typeof actsFor === "string") return mayActFor(p, actsFor);
  if ("builder" in actsFor) return p.kind === "admin" || p.kind === "ci";
  return p.kind !== "ci";
}

export function createApp(d: GatewayDeps) {
  /**
   * The whole write pipeline; each route only says what differs. Order: 401, 429, 403, then the
   * request itself (Idempotency-Key 400, body 413 / 415 / 400), then 422 or 202. The body is read
   * only once the caller is known and allowed, so a stranger cannot make us read one.
   */
  async function write<B>(request: Request, spec: WriteSpec<B>): Promise<Response> {
    const started = performance.now();
    let response: Response;
    try {
      const principal = await d.auth.authenticate(request.headers.get("authorization"));
      const actor = actorId(principal);
      await d.limiter.consume(actor);
      if (!allowedTo(principal, spec.actsFor)) {
        throw problems.forbidden(
          principal.kind === "ci"
            ? "a CI token may only request image builds"
            : typeof spec.actsFor === "string"
              ? "you may only act for your own user"
              : "only the admin may do this",
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
      const rawBody = spec.hasBody
        ? await readJsonBody(request, spec.maxBodyBytes ?? d.maxBodyBytes, spec.isFile)
        : undefined;
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
      response = toProblemResponse(err, d.log, spec.route);
    }
    d.metrics.requests.inc({ route: spec.route, status: response.status });
    d.metrics.latency.observe({ route: spec.route }, (performance.now() - started) / 1000);
    return response;
  }

  return serviceApp({
    log: d.log,
    registry: d.metrics.registry,
    ready: d.ready,
    adminToken: d.adminToken,
    metricsToken: d.metricsToken,
  })
    .post(
      "/v1/users",
      ({ request }) =>
        write(request, {
          route: "/v1/users",
          params: {},
          actsFor: null,
          entity: "users",
          hasBody: true,
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
      { detail: gatewayDocs.createUser },
    )
    .post(
      "/v1/users/:userId/workspaces",
      ({ request, params }) =>
        write(request, {
          route: "/v1/users/:userId/workspaces",
          params: { userId: params.userId },
          actsFor: params.userId,
          entity: "workspaces",
          hasBody: true,
          body: (raw) => {
            validateUuid(params.userId, "userId");
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
      { detail: gatewayDocs.createWorkspace },
    )
    .post(
      "/v1/jobs/:jobId/cancel",
      ({ request, params }) =>
        write(request, {
          route: "/v1/jobs/:jobId/cancel",
          params: { jobId: params.jobId },
          actsFor: { caller: true },
          entity: "workspaces",
          hasBody: false,
          body: () => validateUuid(params.jobId, "jobId"),
          command: (p, jobId) => ({ type: "job.cancel", jobId, userId: p.kind === "user" ? p.userId : null }),
        }),
      { detail: gatewayDocs.cancelJob },
    )
    .post(
      "/v1/tokens",
      ({ request }) =>
        write(request, {
          route: "/v1/tokens",
          params: {},
          actsFor: null,
          entity: "users",
          hasBody: true,
          body: validateCreateToken,
          command: (_p, b, operationId) => ({
            type: "token.create",
            tokenId: Bun.randomUUIDv7(),
            kind: b.kind,
            name: b.name,
            // Like a user's token: derived again from the operation id for each (re)played answer.
            tokenHash: tokenHash(ciToken(d.tokenSecret, operationId)),
          }),
        }),
      { detail: gatewayDocs.createToken },
    )
    .post(
      "/v1/images/builds",
      ({ request }) =>
        write(request, {
          route: "/v1/images/builds",
          params: {},
          actsFor: { builder: true },
          entity: "images",
          hasBody: true,
          maxBodyBytes: Math.ceil(d.maxBuildBytes * 1.25),
          isFile: (path) => path === "/dockerfile" || path.startsWith("/files/"),
          body: (raw) => validateBuildImage(raw, d.maxBuildBytes),
          command: (_p, b) => ({
            type: "image.build",
            // The same ids for every request of this commit: one build, whatever the key.
            ...requestedBuildIds(b.repository, b.commitSha),
            repository: b.repository,
            commitSha: b.commitSha,
            ref: b.ref ?? null,
            dockerfile: b.dockerfile,
            files: b.files ?? {},
          }),
        }),
      { detail: gatewayDocs.buildImage },
    )
    .post(
      "/v1/schedules",
      ({ request }) =>
        write(request, {
          route: "/v1/schedules",
          params: {},
          actsFor: null,
          entity: "images",
          hasBody: true,
          body: (raw) => validateCreateSchedule(raw, d.minScheduleIntervalS),
          command: (_p, b) => ({
            type: "schedule.create",
            scheduleId: Bun.randomUUIDv7(),
            repository: b.repository,
            ref: b.ref,
            cron: b.cron,
            timezone: b.timezone,
          }),
        }),
      { detail: gatewayDocs.createSchedule },
    )
    .delete(
      "/v1/schedules/:scheduleId",
      ({ request, params }) =>
        write(request, {
          route: "/v1/schedules/:scheduleId",
          params: { scheduleId: params.scheduleId },
          actsFor: null,
          entity: "images",
          hasBody: false,
          body: () => validateUuid(params.scheduleId, "scheduleId"),
          command: (_p, scheduleId) => ({ type: "schedule.delete", scheduleId }),
        }),
      { detail: gatewayDocs.deleteSchedule },
    )
    .post(
      "/v1/hosts",
      ({ request }) =>
        write(request, {
          route: "/v1/hosts",
          params: {},
          actsFor: null,
          entity: "hosts",
          hasBody: true,
          body: validateRegisterHost,
          command: (_p, b) => ({
            type: "host.register",
            hostId: Bun.randomUUIDv7(),
            name: b.name,
            sshHost: b.host,
            sshPort: b.port,
            sshUser: b.sshUser ?? "root",
            hostKey: b.pin,
            diskLimitBytes: b.diskLimitBytes ?? null,
          }),
        }),
      { detail: gatewayDocs.registerHost },
    )
    .post(
      "/v1/hosts/:hostId/:action",
      ({ request, params }) =>
        write(request, {
          route: "/v1/hosts/:hostId/:action",
          params: { hostId: params.hostId, action: params.action },
          actsFor: null,
          entity: "hosts",
          hasBody: false,
          body: () => {
            validateUuid(params.hostId, "hostId");
            if (params.action !== "drain" && params.action !== "activate") {
              throw problems.notFound("no such route: a host can be drained or activated");
            }
            return params.action === "drain" ? ("draining" as const) : ("active" as const);
          },
          command: (_p, state) => ({ type: "host.set_state", hostId: params.hostId, state }),
        }),
      { detail: gatewayDocs.setHostState },
    )
    .delete(
      "/v1/users/:userId/workspaces/:workspaceId",
      ({ request, params }) =>
        write(request, {
          route: "/v1/users/:userId/workspaces/:workspaceId",
          params: { userId: params.userId, workspaceId: params.workspaceId },
          actsFor: params.userId,
          entity: "workspaces",
          hasBody: false,
          body: () => {
            validateUuid(params.userId, "userId");
            validateUuid(params.workspaceId, "workspaceId");
            return null;
          },
          command: () => ({
            type: "workspace.delete",
            userId: params.userId,
            workspaceId: params.workspaceId,
            jobId: Bun.randomUUIDv7(),
          }),
        }),
      { detail: gatewayDocs.deleteWorkspace },
    )
    .use(
      apiDocs({
        title: "A4C write-gateway",
        version: "1",
        description:
          "Writes: each is accepted (202) once stored durably and processed asynchronously; follow it at the " +
          "read-api's /status/<operationId>. Errors are application/problem+json.",
      }),
    );
}
