/**
 * The front door (port 3004): the dashboard's page and script, and the API passed on to the
 * service that answers it (routes.ts), on one origin: no CORS, one URL for the browser and the CLI.
 */
import { type Logger, problems, type ReadyCheck, serviceApp } from "@a4c/shared";
import { type Asset, serveAsset } from "./assets.ts";
import type { DashboardMetrics } from "./metrics.ts";
import { forward } from "./proxy.ts";
import { route, type Upstream } from "./routes.ts";

export interface DashboardDeps {
  log: Logger;
  metrics: DashboardMetrics;
  assets: Record<string, Asset>;
  urls: Record<Upstream, string>;
  timeoutMs: number;
  adminToken: string;
  metricsToken?: string | undefined;
}

/** Ready when the two services every screen needs answer their /health. */
export function readyCheck(urls: Record<Upstream, string>): ReadyCheck {
  const probe = async (url: string) => {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    return { ok: r?.status === 200 };
  };
  return async () => ({ gateway: await probe(urls.gateway), readApi: await probe(urls.readApi) });
}

export function createApp(d: DashboardDeps) {
  const proxy = {
    urls: d.urls,
    timeoutMs: d.timeoutMs,
    log: d.log,
    observe: (upstream: Upstream, status: number, seconds: number) => {
      d.metrics.upstream.inc({ upstream, status });
      d.metrics.upstreamSeconds.observe({ upstream }, seconds);
    },
  };
  const pass = ({ request }: { request: Request }) => {
    const target = route(request.method, new URL(request.url).pathname);
    if (!target) throw problems.notFound("no such route");
    return forward(request, target, proxy);
  };
  const page =
    (path: string) =>
    ({ request }: { request: Request }) =>
      serveAsset(d.assets[path] as Asset, request);
  return serviceApp({
    log: d.log,
    registry: d.metrics.registry,
    ready: readyCheck(d.urls),
    adminToken: d.adminToken,
    metricsToken: d.metricsToken,
  })
    .get("/", page("/"))
    .get("/app.js", page("/app.js"))
    .get("/app.css", page("/app.css"))
    .all("/v1/*", pass)
    .all("/status/*", pass)
    .all("/ops/*", pass)
    .all("/openapi/*", pass);
}
