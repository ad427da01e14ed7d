/**
 * Every route of every HTTP service, in one table: the hostile-input suite generates requests for
 * each row. A new route is covered by adding a row (its service, method, path with `:params`, the
 * query keys it reads and the body fields it takes).
 */
export type ServiceName =
  | "gateway"
  | "readApi"
  | "readApiFallback"
  | "processor"
  | "esSync"
  | "provisioner"
  | "dashboard";

export interface RouteSpec {
  service: ServiceName;
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: string[];
  /** Body fields, for routes that take a JSON body. */
  body?: string[];
}

const SERVICES: ServiceName[] = ["gateway", "readApi", "processor", "esSync", "provisioner", "dashboard"];
const SEARCH_KEYS = ["q", "from", "to", "sort", "cursor", "limit"];

export const ROUTES: RouteSpec[] = [
  ...SERVICES.flatMap((service): RouteSpec[] => [
    { service, method: "GET", path: "/health" },
    { service, method: "GET", path: "/ready" },
    { service, method: "GET", path: "/metrics" },
    // What no service has: always a 404 problem.
    { service, method: "GET", path: "/:anything" },
    { service, method: "POST", path: "/v1/:anything/:else", body: ["name"] },
  ]),
  // The API's OpenAPI document and the page that renders it, on both public services.
  ...(["gateway", "readApi"] as const).flatMap((service): RouteSpec[] => [
    { service, method: "GET", path: "/openapi.json" },
    { service, method: "GET", path: "/docs" },
  ]),
  { service: "gateway", method: "POST", path: "/v1/users", body: ["name", "email"] },
  { service: "gateway", method: "POST", path: "/v1/users/:userId/workspaces", body: ["projectName", "image"] },
  { service: "gateway", method: "DELETE", path: "/v1/users/:userId/workspaces/:workspaceId" },
  { service: "gateway", method: "POST", path: "/v1/jobs/:jobId/cancel" },
  {
    service: "gateway",
    method: "POST",
    path: "/v1/hosts",
    body: ["name", "sshAddress", "hostKeySha256", "hostKey", "diskLimitBytes"],
  },
  { service: "gateway", method: "POST", path: "/v1/hosts/:hostId/:action" },
  { service: "gateway", method: "POST", path: "/v1/tokens", body: ["kind", "name"] },
  {
    service: "gateway",
    method: "POST",
    path: "/v1/images/builds",
    body: ["repository", "commitSha", "ref", "dockerfile", "files"],
  },
  { service: "gateway", method: "POST", path: "/v1/schedules", body: ["repository", "ref", "cron", "timezone"] },
  { service: "gateway", method: "DELETE", path: "/v1/schedules/:scheduleId" },
  { service: "readApi", method: "GET", path: "/status/:operationId", query: ["wait"] },
  { service: "readApi", method: "GET", path: "/status/:operationId/events", query: ["follow"] },
  { service: "readApi", method: "GET", path: "/v1/me" },
  { service: "readApi", method: "GET", path: "/v1/users/:userId" },
  { service: "readApi", method: "GET", path: "/v1/users/:userId/workspaces", query: ["limit", "cursor"] },
  { service: "readApi", method: "GET", path: "/v1/workspaces/:workspaceId" },
  { service: "readApi", method: "GET", path: "/v1/jobs", query: SEARCH_KEYS },
  { service: "readApi", method: "GET", path: "/v1/jobs/events", query: ["ids"] },
  // The same search answered by the PostgreSQL fallback (a read-api whose Elasticsearch is gone).
  { service: "readApiFallback", method: "GET", path: "/v1/jobs", query: SEARCH_KEYS },
  { service: "readApi", method: "GET", path: "/v1/jobs/:jobId" },
  { service: "readApi", method: "GET", path: "/v1/hosts" },
  { service: "readApi", method: "GET", path: "/v1/cleanup/actions", query: ["limit", "cursor"] },
  { service: "readApi", method: "GET", path: "/v1/jobs/:jobId/log", query: ["after", "limit"] },
  { service: "readApi", method: "GET", path: "/v1/images", query: ["repository", "status", "limit", "cursor"] },
  { service: "readApi", method: "GET", path: "/v1/images/:imageId" },
  { service: "readApi", method: "GET", path: "/v1/schedules" },
  { service: "processor", method: "GET", path: "/dlq", query: ["limit"] },
  { service: "processor", method: "POST", path: "/dlq/replay" },
  { service: "esSync", method: "GET", path: "/dlq", query: ["limit"] },
  { service: "esSync", method: "POST", path: "/dlq/replay" },
  { service: "esSync", method: "POST", path: "/reconcile", query: ["from", "to"] },
  { service: "esSync", method: "GET", path: "/reindex" },
  { service: "esSync", method: "POST", path: "/reindex" },
  { service: "provisioner", method: "POST", path: "/cleanup" },
  { service: "provisioner", method: "POST", path: "/hosts/refresh" },
  // The front door: its own page, and a sample of what it passes on (reads, writes, operator actions).
  { service: "dashboard", method: "GET", path: "/" },
  { service: "dashboard", method: "GET", path: "/app.js" },
  { service: "dashboard", method: "POST", path: "/v1/users/:userId/workspaces", body: ["projectName", "image"] },
  { service: "dashboard", method: "DELETE", path: "/v1/users/:userId/workspaces/:workspaceId" },
  { service: "dashboard", method: "GET", path: "/v1/jobs", query: SEARCH_KEYS },
  { service: "dashboard", method: "GET", path: "/status/:operationId", query: ["wait"] },
  { service: "dashboard", method: "GET", path: "/ops/:service/:action", query: ["limit"] },
  { service: "dashboard", method: "POST", path: "/ops/:service/dlq/replay" },
  { service: "dashboard", method: "GET", path: "/openapi/:document" },
];
