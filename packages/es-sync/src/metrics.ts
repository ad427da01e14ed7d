import { Counter, createRegistry, Gauge, Histogram, LATENCY_BUCKETS } from "@a4c/shared";

export function esSyncMetrics() {
  const registry = createRegistry("es-sync");
  return {
    registry,
    events: new Counter({
      name: "a4c_es_sync_events_total",
      help: "Change events consumed from the CDC topic",
      registers: [registry],
    }),
    documents: new Counter({
      name: "a4c_es_sync_documents_total",
      help: "Bulk items, by op (index, delete) and outcome (written, stale, failed)",
      labelNames: ["op", "outcome"] as const,
      registers: [registry],
    }),
    bulkSeconds: new Histogram({
      name: "a4c_es_sync_bulk_seconds",
      help: "Duration of one bulk request",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "a4c_es_sync_batch_jobs",
      help: "Distinct jobs per consumed batch",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers: [registry],
    }),
    projectionLag: new Histogram({
      name: "a4c_es_sync_projection_lag_seconds",
      help: "From the commit in PostgreSQL to the confirmed bulk write",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    routed: new Counter({
      name: "a4c_es_sync_routed_total",
      help: "Failed documents sent to a retry topic or the DLQ",
      labelNames: ["topic"] as const,
      registers: [registry],
    }),
    unavailable: new Gauge({
      name: "a4c_es_sync_dependency_unavailable",
      help: "1 while batches wait for Elasticsearch or PostgreSQL to come back",
      registers: [registry],
    }),
    lastProjectedCommit: new Gauge({
      name: "a4c_es_sync_last_projected_commit_seconds",
      help: "PostgreSQL commit time (Unix seconds) of the newest change written to Elasticsearch",
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: "a4c_es_sync_consumer_lag",
      help: "Messages not yet consumed by es-sync's groups, by topic (the CDC topic and each retry topic)",
      labelNames: ["topic"] as const,
      registers: [registry],
    }),
    dlqMessages: new Gauge({
      name: "a4c_es_sync_dlq_messages",
      help: "Entries in the search DLQ not replayed yet",
      registers: [registry],
    }),
    clusterHealth: new Gauge({
      name: "a4c_elasticsearch_cluster_health",
      help: "Elasticsearch cluster health as es-sync last saw it: 0 green, 1 yellow, 2 red, 3 unreachable",
      registers: [registry],
    }),
    repaired: new Counter({
      name: "a4c_es_sync_repaired_total",
      help: "Jobs re-synced by the backup poller or the reconciler",
      labelNames: ["by"] as const,
      registers: [registry],
    }),
  };
}
export type EsSyncMetrics = ReturnType<typeof esSyncMetrics>;
