/**
 * The ci-consumer's HTTP surface on its ops port: /health and /ready (open), /metrics (admin or
 * metrics token), and the DLQ for operators (admin token): GET /dlq lists the entries not replayed
 * yet, POST /dlq/replay publishes the refused ones to the builds topic again.
 */
import { type Logger, pageLimit, type ReadyCheck, type Registry, requireOperator, serviceApp } from "@a4c/shared";
import type { BuildConsumer } from "./consumer.ts";
import type { DeadLetters } from "./dlq.ts";
import type { GatewayClient } from "./gateway.ts";

export interface OpsDeps {
  log: Logger;
  registry: Registry;
  consumer: BuildConsumer;
  gateway: GatewayClient;
  dlq: DeadLetters;
  /** Kafka answers a metadata request for the builds topic. */
  kafkaUp: () => Promise<boolean>;
  adminToken: string;
  metricsToken?: string | undefined;
}

const dlqLimit = (raw: string | null) => pageLimit(raw, { default: 100, max: 1_000 });

export function opsApp(d: OpsDeps) {
  // Ready: Kafka answers and this member is in its group, and the gateway answers.
  const ready: ReadyCheck = async () => {
    const [kafka, gateway] = await Promise.all([d.kafkaUp(), d.gateway.reachable()]);
    return {
      kafka: {
        ok: kafka && d.consumer.joined,
        detail: { connected: kafka, joined: d.consumer.joined, partitions: d.consumer.assignedPartitions },
      },
      gateway: { ok: gateway, detail: gateway ? "reachable" : "unreachable" },
    };
  };
  return serviceApp({
    log: d.log,
    registry: d.registry,
    ready,
    adminToken: d.adminToken,
    metricsToken: d.metricsToken,
  }).guard({ beforeHandle: ({ request }) => requireOperator(request, d.adminToken) }, (operator) =>
    operator
      .get("/dlq", async ({ request }) => {
        const limit = dlqLimit(new URL(request.url).searchParams.get("limit"));
        const items = await d.dlq.list();
        return Response.json({ items: items.slice(0, limit), total: items.length });
      })
      .post("/dlq/replay", async () => Response.json(await d.dlq.replay())),
  );
}
