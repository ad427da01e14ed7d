import {
  type Authenticator,
  apiDocs,
  HttpProblem,
  IMAGE_STATUSES,
  type ImageFilter,
  type ImageStatus,
  isTerminal,
  isTerminalJob,
  type JobStatus,
  type Logger,
  mayActFor,
  type OperationView,
  type Principal,
  pageLimit,
  problems,
  REPOSITORY_PATTERN,
  type ReadyCheck,
  serviceApp,
  toProblemResponse,
  UUID_PATTERN,
} from "@a4c/shared";
import { readApiDocs } from "./docs.ts";
import type { EntityService } from "./entities.ts";
import { DEFAULT_LOG_LINES, type ImageViews, LINE_ID_PATTERN, MAX_LOG_LINES } from "./images.ts";
import type { JobEvents } from "./job-events.ts";
import type { ReadMetrics } from "./metrics.ts";
import type { OperatorViews } from "./operators.ts";
import { parseJobQuery } from "./search/query.ts";
import type { JobSearchService } from "./search/service.ts";
import type { CompletionWaiters, StatusService } from "./status.ts";

export interface ReadApiDeps {
  auth: Authenticator;
  status: StatusService;
  waiters: CompletionWaiters;
  entities: EntityService;
  metrics: ReadMetrics;
  log: Logger;
  ready: ReadyCheck;
  maxWaitSeconds: number;
  adminToken: string;
  metricsToken?: string | undefined;
  operators: OperatorViews;
  images: ImageViews;
  /** Job search (GET /v1/jobs); without it the route answers 503. */
  jobSearch?: JobSearchService;
  /** Live job changes (GET /v1/jobs/events); without them the route answers 503. */
  jobEvents?: JobEvents;
  maxEventStreams?: number;
}

function parseWait(raw: string | undefined, max: number): number {
  if (raw === undefined || raw === "") return 0;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw problems.badRequest("wait must be a number of seconds ≥ 0");
  return Math.min(n, max);
}

const parseLimit = (raw: string | undefined) => pageLimit(raw, { default: 50, max: 200 });

/** `?ids=a,b,…`: at most 100 job ids; absent is every job the caller may see. */
function parseIds(raw: string | null): Set<string> | null {
  if (raw === null || raw === "") return null;
  const ids = raw.split(",");
  if (ids.length > 100 || !ids.every((id) => UUID_PATTERN.test(id))) {
    throw problems.badRequest("ids must be at most 100 lowercase UUIDs, separated by commas");
  }
  return new Set(ids);
}

const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" };
/** Events a slow client may fall behind by before its stream is closed (it reconnects and resyncs). */
const MAX_BEHIND = 1_000;

function requireUuid(value: string, what: string): string {
  if (!UUID_PATTERN.test(value)) throw problems.badRequest(`${what} must be a lowercase UUID`);
  return value;
}

const REPOSITORY = new RegExp(REPOSITORY_PATTERN);

/** `?repository=&status=` of the image list; any case (repositories and statuses have one). */
function parseImageFilter(params: URLSearchParams): ImageFilter {
  const filter: ImageFilter = {};
  const repository = params.get("repository");
  if (repository) {
    filter.repository = repository.toLowerCase();
    if (!REPOSITORY.test(filter.repository))
      throw problems.badRequest("repository must be a repository name, e.g. team/app");
  }
  const status = params.get("status");
  if (status) {
    const upper = status.toUpperCase();
    filter.status = IMAGE_STATUSES.find((s) => s === upper) as ImageStatus | undefined;
    if (!filter.status) throw problems.badRequest(`status must be one of ${IMAGE_STATUSES.join(", ").toLowerCase()}`);
  }
  return filter;
}

const LINE_ID = new RegExp(LINE_ID_PATTERN);

/** `?after=<line id>&limit=<n>` of a job's log: from the start, 500 lines, by default. */
function parseLogPage(params: URLSearchParams): { after: string; limit: number } {
  const after = params.get("after") || "0";
  if (!LINE_ID.test(after)) throw problems.badRequest("after must be a line id (an integer ≥ 0)");
  return { after, limit: pageLimit(params.get("limit"), { default: DEFAULT_LOG_LINES, max: MAX_LOG_LINES }) };
}

/**
 * Who may read a job: its owner and the admin; an image build — which belongs to no user, and
 * whose image anyone may pick — the admin, any user and CI tokens. A CI token reads nothing else.
 */
function mayReadJob(p: Principal, job: { type: string; userId: string | null }): boolean {
  if (p.kind === "admin" || job.type === "IMAGE_BUILD") return true;
  return p.kind === "user" && job.userId === p.userId;
}

/** Whether a live job change goes to this caller: a user's own jobs, every job for the admin. */
function receives(p: Principal, change: { userId: string | null }): boolean {
  if (p.kind === "admin") return true;
  return p.kind === "user" && change.userId === p.userId;
}

/** How a read is run: whether its latency is recorded, and whether a CI token may make it. */
interface ReadOptions {
  /** false for long-polls and streams, whose time is the caller's choice. */
  timed?: boolean;
  /** A CI token may request image builds and follow them, nothing else: the few reads that follow them. */
  ci?: boolean;
}

export function createApp(d: ReadApiDeps) {
  /** Authenticates, keeps CI tokens to their routes, runs the handler, maps errors and records metrics. */
  async function read(
    route: string,
    request: Request,
    handler: (principal: Principal) => Promise<Response>,
    { timed = true, ci = false }: ReadOptions = {},
  ): Promise<Response> {
    const started = performance.now();
    let response: Response;
    try {
      const principal = await d.auth.authenticate(request.headers.get("authorization"));
      if (principal.kind === "ci" && !ci) throw problems.forbidden("a CI token may only follow image builds");
      response = await handler(principal);
    } catch (err) {
      response = toProblemResponse(err, d.log, route);
    }
    d.metrics.requests.inc({ route, status: response.status });
    if (timed) d.metrics.latency.observe({ route }, (performance.now() - started) / 1000);
    return response;
  }

  async function statusOrThrow(id: string, principal: Principal): Promise<OperationView> {
    const view = await d.status.get(id, principal);
    if (!view) throw problems.notFound("no such operation");
    return view;
  }

  /** Long-poll: answers as soon as the status leaves `pending`, or after `wait` seconds. */
  async function status(id: string, principal: Principal, waitSeconds: number, signal: AbortSignal): Promise<Response> {
    let view = await statusOrThrow(id, principal);
    const deadline = Date.now() + waitSeconds * 1000;
    while (!isTerminal(view.status) && Date.now() < deadline && !signal.aborted) {
      await d.waiters.wait(id, deadline - Date.now(), signal);
      view = await statusOrThrow(id, principal);
    }
    const headers: Record<string, string> = { "cache-control": "no-store" };
    if (!isTerminal(view.status)) headers["retry-after"] = "1";
    return Response.json(view, { headers });
  }

  /**
   * Server-sent events: the current status at once, then every change until it is final; with
   * `followJob`, then every move of the operation's job (its status and step) until it ends too.
   */
  function events(
    id: string,
    principal: Principal,
    first: OperationView,
    signal: AbortSignal,
    followJob: boolean,
  ): Response {
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start: async (controller) => {
        let sequence = 0;
        const send = (v: OperationView) =>
          controller.enqueue(encoder.encode(`event: status\nid: ${++sequence}\ndata: ${JSON.stringify(v)}\n\n`));
        let view = first;
        send(view);
        try {
          const moving = (v: OperationView) =>
            !isTerminal(v.status) || (followJob && v.job !== undefined && !isTerminalJob(v.job.status as JobStatus));
          const same = (a: OperationView, b: OperationView) =>
            a.status === b.status && a.job?.status === b.job?.status && a.job?.step === b.job?.step;
          while (moving(view) && !signal.aborted) {
            // A pending operation wakes its waiters; a running job is looked at four times a second
            // (a cached read while nothing changes).
            await d.waiters.wait(id, isTerminal(view.status) ? 250 : 15_000, signal);
            const next = await d.status.get(id, principal);
            if (!next) break;
            if (!same(next, view)) send(next);
            else controller.enqueue(encoder.encode(": keep-alive\n\n"));
            view = next;
          }
        } catch (err) {
          d.log.warn({ event: "sse.failed", operationId: id, err });
        }
        controller.close();
      },
    });
    return new Response(stream, { headers: SSE_HEADERS });
  }

  /**
   * Live changes of the jobs the caller may see (a user's own, every job for the admin), as
   * server-sent events: `ready` at once, then `job` per committed change ({id, userId, type,
   * status, step, version}), `resync` when changes may have been missed (read afresh), and a
   * keep-alive comment every 15 s.
   */
  function jobEventStream(events: JobEvents, principal: Principal, ids: Set<string> | null, signal: AbortSignal) {
    const encoder = new TextEncoder();
    let stop = () => {};
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          let sequence = 0;
          let closed = false;
          const close = () => {
            if (closed) return;
            closed = true;
            stop();
            try {
              controller.close();
            } catch {
              // already closed by the client going away
            }
          };
          const send = (text: string) => {
            if (closed) return;
            if ((controller.desiredSize ?? 0) < -MAX_BEHIND) return close();
            controller.enqueue(encoder.encode(text));
          };
          const unsubscribe = events.subscribe((e) => {
            if (e.kind === "end") return close();
            if (e.kind === "resync") return send("event: resync\ndata: {}\n\n");
            const c = e.change;
            if (!receives(principal, c)) return;
            if (ids && !ids.has(c.id)) return;
            send(`event: job\nid: ${++sequence}\ndata: ${JSON.stringify(c)}\n\n`);
          });
          const keepAlive = setInterval(() => send(": keep-alive\n\n"), 15_000);
          d.metrics.jobEventStreams.inc();
          stop = () => {
            unsubscribe();
            clearInterval(keepAlive);
            d.metrics.jobEventStreams.dec();
            stop = () => {};
          };
          signal.addEventListener("abort", close, { once: true });
          send("retry: 2000\nevent: ready\ndata: {}\n\n");
        },
        cancel() {
          stop();
        },
      },
      { highWaterMark: 1 },
    );
    return new Response(stream, { headers: SSE_HEADERS });
  }

  return (
    serviceApp({
      log: d.log,
      registry: d.metrics.registry,
      ready: d.ready,
      adminToken: d.adminToken,
      metricsToken: d.metricsToken,
    })
      .get(
        "/status/:operationId",
        ({ request, params, query }) =>
          read(
            "/status/:operationId",
            request,
            (p) => status(params.operationId, p, parseWait(query.wait, d.maxWaitSeconds), request.signal),
            // A CI token follows the builds it requested (its own operations, like anyone's).
            { timed: query.wait === undefined, ci: true },
          ),
        { detail: readApiDocs.status },
      )
      .get(
        "/status/:operationId/events",
        ({ request, params, query }) =>
          read(
            "/status/:operationId/events",
            request,
            async (p) => {
              const follow = query.follow;
              if (follow !== undefined && follow !== "job") throw problems.badRequest("follow may only be job");
              const first = await statusOrThrow(params.operationId, p);
              return events(params.operationId, p, first, request.signal, follow === "job");
            },
            { timed: false, ci: true },
          ),
        { detail: readApiDocs.statusEvents },
      )
      // Who the token is: clients (the CLI, the dashboard) learn the user id they act for from it.
      .get(
        "/v1/me",
        ({ request }) =>
          read("/v1/me", request, async (p) => {
            if (p.kind === "admin")
              return Response.json({ kind: "admin" }, { headers: { "cache-control": "no-store" } });
            // A CI token never gets here (read refuses it): it is no user.
            if (p.kind !== "user") throw problems.forbidden("a CI token is no user");
            const user = await d.entities.user(p.userId);
            if (!user) throw problems.notFound("no such user");
            return Response.json({ kind: "user", user }, { headers: { "cache-control": "no-store" } });
          }),
        { detail: readApiDocs.me },
      )
      .get(
        "/v1/users/:userId",
        ({ request, params }) =>
          read("/v1/users/:userId", request, async (p) => {
            requireUuid(params.userId, "userId");
            if (!mayActFor(p, params.userId)) throw problems.forbidden("you may only read your own user");
            const user = await d.entities.user(params.userId);
            if (!user) throw problems.notFound("no such user");
            return Response.json(user);
          }),
        { detail: readApiDocs.user },
      )
      .get(
        "/v1/users/:userId/workspaces",
        ({ request, params, query }) =>
          read("/v1/users/:userId/workspaces", request, async (p) => {
            requireUuid(params.userId, "userId");
            if (!mayActFor(p, params.userId)) throw problems.forbidden("you may only read your own workspaces");
            return Response.json(
              await d.entities.workspaces(params.userId, parseLimit(query.limit), query.cursor || undefined),
            );
          }),
        { detail: readApiDocs.userWorkspaces },
      )
      .get(
        "/v1/workspaces/:workspaceId",
        ({ request, params }) =>
          read("/v1/workspaces/:workspaceId", request, async (p) => {
            requireUuid(params.workspaceId, "workspaceId");
            const ws = await d.entities.workspace(params.workspaceId);
            if (!ws || !mayActFor(p, ws.userId)) throw problems.notFound("no such workspace");
            return Response.json(ws);
          }),
        { detail: readApiDocs.workspace },
      )
      .get(
        "/v1/jobs",
        ({ request }) =>
          read("/v1/jobs", request, async (p) => {
            if (!d.jobSearch) throw new HttpProblem(503, "Service Unavailable", "job search is not configured");
            // From the raw URL: a repeated parameter is then its first value, never an array.
            const params = new URL(request.url).searchParams;
            const query = parseJobQuery({
              q: params.get("q"),
              from: params.get("from"),
              to: params.get("to"),
              sort: params.get("sort"),
              cursor: params.get("cursor"),
              limit: params.get("limit"),
            });
            return Response.json(await d.jobSearch.search(query, p), { headers: { "cache-control": "no-store" } });
          }),
        { detail: readApiDocs.jobSearch },
      )
      .get(
        "/v1/jobs/events",
        ({ request }) =>
          read(
            "/v1/jobs/events",
            request,
            async (p) => {
              if (!d.jobEvents) throw new HttpProblem(503, "Service Unavailable", "live job events are not configured");
              const ids = parseIds(new URL(request.url).searchParams.get("ids"));
              if (d.jobEvents.streams >= (d.maxEventStreams ?? 1_000)) {
                throw problems.unavailable("too many open event streams on this instance; retry later");
              }
              return jobEventStream(d.jobEvents, p, ids, request.signal);
            },
            { timed: false },
          ),
        { detail: readApiDocs.jobEvents },
      )
      .get(
        "/v1/hosts",
        ({ request }) =>
          read("/v1/hosts", request, async (p) => {
            if (p.kind !== "admin") throw problems.forbidden("only the admin may list hosts");
            // The contract's shape: the hosts themselves, as an array (there are few).
            return Response.json(await d.operators.hosts(), { headers: { "cache-control": "no-store" } });
          }),
        { detail: readApiDocs.hosts },
      )
      .get(
        "/v1/cleanup/actions",
        ({ request }) =>
          read("/v1/cleanup/actions", request, async (p) => {
            if (p.kind !== "admin") throw problems.forbidden("only the admin may read the cleanup record");
            const params = new URL(request.url).searchParams;
            const before = params.get("cursor") || undefined;
            if (before !== undefined && !/^[1-9][0-9]{0,17}$/.test(before)) throw problems.badRequest("invalid cursor");
            return Response.json(
              await d.operators.cleanupActions(parseLimit(params.get("limit") ?? undefined), before),
            );
          }),
        { detail: readApiDocs.cleanupActions },
      )
      .get(
        "/v1/jobs/:jobId",
        ({ request, params }) =>
          read(
            "/v1/jobs/:jobId",
            request,
            async (p) => {
              requireUuid(params.jobId, "jobId");
              const job = await d.entities.job(params.jobId);
              // Another user's job is as unknown as a job that does not exist.
              if (!job || !mayReadJob(p, job)) throw problems.notFound("no such job");
              return Response.json(job);
            },
            { ci: true },
          ),
        { detail: readApiDocs.job },
      )
      .get(
        "/v1/jobs/:jobId/log",
        ({ request, params }) =>
          read(
            "/v1/jobs/:jobId/log",
            request,
            async (p) => {
              requireUuid(params.jobId, "jobId");
              const page = parseLogPage(new URL(request.url).searchParams);
              // The job (cached) decides who may read its log, exactly as it decides who may read the job.
              const job = await d.entities.job(params.jobId);
              if (!job || !mayReadJob(p, job)) throw problems.notFound("no such job");
              return Response.json(await d.images.jobLog(params.jobId, page.after, page.limit), {
                headers: { "cache-control": "no-store" },
              });
            },
            { ci: true },
          ),
        { detail: readApiDocs.jobLog },
      )
      .get(
        "/v1/images",
        ({ request }) =>
          read(
            "/v1/images",
            request,
            async () => {
              const params = new URL(request.url).searchParams;
              const filter = parseImageFilter(params);
              const limit = parseLimit(params.get("limit") ?? undefined);
              return Response.json(await d.images.images(filter, limit, params.get("cursor") || undefined), {
                headers: { "cache-control": "no-store" },
              });
            },
            { ci: true },
          ),
        { detail: readApiDocs.images },
      )
      .get(
        "/v1/images/:imageId",
        ({ request, params }) =>
          read(
            "/v1/images/:imageId",
            request,
            async () => {
              requireUuid(params.imageId, "imageId");
              const image = await d.images.image(params.imageId);
              if (!image) throw problems.notFound("no such image");
              return Response.json(image, { headers: { "cache-control": "no-store" } });
            },
            { ci: true },
          ),
        { detail: readApiDocs.image },
      )
      .get(
        "/v1/schedules",
        ({ request }) =>
          read("/v1/schedules", request, async (p) => {
            if (p.kind !== "admin") throw problems.forbidden("only the admin may read build schedules");
            return Response.json(await d.images.schedules(), { headers: { "cache-control": "no-store" } });
          }),
        { detail: readApiDocs.schedules },
      )
      .use(
        apiDocs({
          title: "A4C read-api",
          version: "1",
          description:
            "Reads: operation status (long-poll and server-sent events), users, workspaces, jobs and their logs, " +
            "job search, images, build schedules, hosts. Errors are application/problem+json.",
        }),
      )
  );
}
