import { Counter, createRegistry, Histogram, LATENCY_BUCKETS } from "@a4c/shared";

export function gatewayMetrics() {
  const registry = createRegistry("write-gateway");
  return {
    registry,
    requests: new Counter({
      name: "a4c_gateway_requests_total",
      help: "Write requests by route and answer status",
      labelNames: ["route", "status"] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: "a4c_gateway_request_seconds",
      help: "Time to answer a write request (202 includes the JetStream acknowledgement)",
      labelNames: ["route"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    replays: new Counter({
      name: "a4c_gateway_idempotent_replays_total",
      help: "Requests answered from a stored request with the same Idempotency-Key",
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;
