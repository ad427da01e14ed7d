import { Counter, createRegistry, Gauge, Histogram, LATENCY_BUCKETS } from "@a4c/shared";

export function ciConsumerMetrics() {
  const registry = createRegistry("ci-consumer");
  return {
    registry,
    messages: new Counter({
      name: "a4c_ci_consumer_messages_total",
      help: "Messages of the builds topic by outcome: accepted, replayed (the gateway had the request already), dead_lettered, retried (one per attempt that must be repeated)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    gatewayRequests: new Counter({
      name: "a4c_ci_consumer_gateway_requests_total",
      help: "Build requests sent to the gateway, by answer status (or `unreachable`)",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    gatewaySeconds: new Histogram({
      name: "a4c_ci_consumer_gateway_request_seconds",
      help: "Duration of one build request to the gateway",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    lag: new Gauge({
      name: "a4c_ci_consumer_lag",
      help: "Messages of each partition not committed yet (high watermark − committed), as of the last batch",
      labelNames: ["partition"] as const,
      registers: [registry],
    }),
    waiting: new Gauge({
      name: "a4c_ci_consumer_waiting",
      help: "Partitions whose next message waits for the gateway to take it (retrying)",
      registers: [registry],
    }),
  };
}
export type CiConsumerMetrics = ReturnType<typeof ciConsumerMetrics>;
