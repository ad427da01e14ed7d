import { Counter, createRegistry, Gauge, Histogram, LATENCY_BUCKETS, zeroSeries } from "@a4c/shared";

/** `feedLive`, when the change feed runs, is read at each scrape. */
export function readMetrics(feedLive?: () => boolean) {
  const registry = createRegistry("read-api");
  if (feedLive) {
    new Gauge({
      name: "a4c_read_cdc_feed_live",
      help: "1 while the change feed is attached and within A4C_CDC_MAX_LAG_MS (the cache is used), else 0",
      registers: [registry],
      collect() {
        this.set(feedLive() ? 1 : 0);
      },
    });
  }
  const metrics = {
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
    jobEventStreams: new Gauge({
      name: "a4c_read_job_event_streams",
      help: "Open live job event streams (GET /v1/jobs/events)",
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: "a4c_read_cache_lookups_total",
      help: "Cache lookups by read model and result (hit ratio = hit / (hit + miss))",
      labelNames: ["kind", "result"] as const,
      registers: [registry],
    }),
    cacheFallbacks: new Counter({
      name: "a4c_read_cache_fallbacks_total",
      help: "Reads served from PostgreSQL without the cache: redis_down, redis_error, feed_not_live",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    cacheFlushes: new Counter({
      name: "a4c_read_cache_flushes_total",
      help: "Whole-cache flushes (new epoch) by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    cdcLag: new Histogram({
      name: "a4c_cdc_lag_seconds",
      help: "Change-data lag: commit in PostgreSQL (source.ts_ms) to invalidation done in Redis",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    cdcEvents: new Counter({
      name: "a4c_cdc_events_total",
      help: "Change-feed messages by result (invalidated, duplicate, heartbeat, unreadable, ignored)",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    cdcGaps: new Counter({
      name: "a4c_cdc_gaps_total",
      help: "Times the change feed could not be proven gap-free (each flushes the cache)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    searchBreaker: new Gauge({
      name: "a4c_read_search_breaker_state",
      help: "The circuit breaker guarding Elasticsearch: 0 closed, 1 half-open, 2 open",
      registers: [registry],
    }),
    searchSource: new Counter({
      name: "a4c_read_search_source_total",
      help: "Job searches by where they were answered from (elasticsearch, postgres)",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
  };
  // The fallback alert counts searches answered from PostgreSQL: that series exists from boot.
  zeroSeries(metrics.searchSource, [{ source: "elasticsearch" }, { source: "postgres" }]);
  return metrics;
}
export type ReadMetrics = ReturnType<typeof readMetrics>;
