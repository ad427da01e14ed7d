import { Counter, createRegistry, Histogram, LATENCY_BUCKETS } from "@a4c/shared";

export function dashboardMetrics() {
  const registry = createRegistry("dashboard");
  return {
    registry,
    upstream: new Counter({
      name: "a4c_dashboard_upstream_requests_total",
      help: "Requests passed on by the front door, by service and answer status.",
      labelNames: ["upstream", "status"],
      registers: [registry],
    }),
    upstreamSeconds: new Histogram({
      name: "a4c_dashboard_upstream_seconds",
      help: "Time until the service's answer started (streams excluded from nothing: an SSE stream counts until its headers).",
      labelNames: ["upstream"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}
export type DashboardMetrics = ReturnType<typeof dashboardMetrics>;
