import { Counter, createRegistry, Histogram, LATENCY_BUCKETS } from "@a4c/shared";

export function readMetrics() {
  const registry = createRegistry("read-api");
  return {
    registry,
    requests: new Counter({
      name: "a4c_read_requests_total",
      help: "Read requests by route and answer status",
      labelNames: ["route", "status"] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: "a4c_read_request_seconds",
      help: "Time to answer a read request (long-polls excluded)",
      labelNames: ["route"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    statusSource: new Counter({
      name: "a4c_read_status_source_total",
      help: "Where an operation status was answered from (cache, postgres, stream)",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    cacheErrors: new Counter({
      name: "a4c_read_cache_errors_total",
      help: "Redis calls that failed and fell back to PostgreSQL",
      labelNames: ["op"] as const,
      registers: [registry],
    }),
  };
}
export type ReadMetrics = ReturnType<typeof readMetrics>;
