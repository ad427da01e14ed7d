/**
 * `GET /openapi.json` and `GET /docs` for a service: the OpenAPI 3.1 document that Elysia's
 * OpenAPI generator derives from the app's own route table and each route's `detail` (see
 * operation.ts), so a route exists in the document as soon as it is served.
 *
 * Two things the generator cannot know are added here: the ops routes `serviceApp` adds
 * (/health, /ready, /metrics), and a route's own parameter list, which the generator replaces
 * with bare strings named after the path's `:params` (no rules, no query parameters).
 */
import { toOpenAPISchema } from "@elysiajs/openapi/openapi";
import type { AnyElysia, DocumentDecoration } from "elysia";
import { docsPage } from "./docs-page.ts";
import { operation, schemaRef } from "./operation.ts";
import { ApiSchemas } from "./schemas.ts";

export interface ApiInfo {
  title: string;
  version: string;
  description: string;
}

const OPENAPI_VERSION = "3.1.0";

function withAnswer(detail: DocumentDecoration, status: number, answer: object): DocumentDecoration {
  return { ...detail, responses: { ...detail.responses, [status]: answer } };
}

/** What `serviceApp` serves on every service (http.ts), keyed by method and path. */
const OPS_ROUTES: Record<string, object> = {
  "GET /health": operation({
    summary: "Liveness",
    tags: ["ops"],
    ok: { status: 200, description: "The process is up", schema: "Health" },
    errors: [],
    public: true,
  }),
  "GET /ready": withAnswer(
    operation({
      summary: "Readiness: dependencies and consumer progress",
      tags: ["ops"],
      ok: { status: 200, description: "Every check passes", schema: "Readiness" },
      errors: [],
      public: true,
    }),
    503,
    { description: "A check fails", content: { "application/json": { schema: schemaRef("Readiness") } } },
  ),
  "GET /metrics": operation({
    summary: "Prometheus metrics",
    description: "Needs the admin token or the scraper's A4C_METRICS_TOKEN.",
    tags: ["ops"],
    ok: {
      status: 200,
      description: "Prometheus text exposition format",
      content: { type: "text/plain", schema: { type: "string" } },
    },
    errors: [401],
  }),
};

type Operations = Record<string, Record<string, Record<string, unknown>>>;

function buildDocument(app: AnyElysia, info: ApiInfo): string {
  const paths = toOpenAPISchema(app, undefined, undefined, undefined, OPENAPI_VERSION).paths as Operations;
  for (const route of app.routes) {
    const op = paths[route.path.replace(/:([^/]+)/g, "{$1}")]?.[route.method.toLowerCase()];
    if (!op) continue; // hidden: the document and this page
    Object.assign(op, OPS_ROUTES[`${route.method} ${route.path}`]);
    const own = (route.hooks?.detail as { parameters?: unknown } | undefined)?.parameters;
    if (own) op.parameters = own;
  }
  const text = JSON.stringify(paths);
  const used = new Set(Array.from(text.matchAll(/#\/components\/schemas\/(\w+)/g), (m) => m[1] as string));
  const schemas = Object.fromEntries(Object.entries(ApiSchemas).filter(([name]) => used.has(name)));
  return JSON.stringify({
    openapi: OPENAPI_VERSION,
    info,
    security: [{ bearer: [] }],
    paths: JSON.parse(text),
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "the admin token, a user's API token or a CI token" },
      },
    },
  });
}

/**
 * The two routes, public like /health, as a functional plugin (`app.use(apiDocs(…))`): it is given
 * the app itself, whose route table the document describes. The document is built when first
 * asked for (every route is registered by then) and again only if routes were added since.
 */
export function apiDocs(info: ApiInfo) {
  return (app: AnyElysia) => {
    let cached: { routes: number; body: string } | null = null;
    const document = () => {
      if (cached?.routes !== app.routes.length) cached = { routes: app.routes.length, body: buildDocument(app, info) };
      return new Response(cached.body, {
        headers: { "content-type": "application/json", "cache-control": "no-cache" },
      });
    };
    return app
      .get("/openapi.json", document, { detail: { hide: true } })
      .get("/docs", docsPage, { detail: { hide: true } });
  };
}
