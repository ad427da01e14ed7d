/** es-sync's HTTP surface on its ops port: health, readiness, metrics, and the operator actions. */
import { opsRoutes, postgresCheck } from "@a4c/shared";
import { Elysia } from "elysia";
import type { CdcConsumer } from "./cdc-consumer.ts";
import type { Wiring } from "./wiring.ts";

export function opsApp(w: Wiring, cdc: CdcConsumer, reindexNow: () => Promise<unknown>) {
  return new Elysia()
    .use(
      opsRoutes(w.metrics.registry, async () => ({
        postgres: await postgresCheck(w.sql),
        elasticsearch: { ok: await w.index.ping() },
        kafka: { ok: true, detail: { partitions: cdc.assignedPartitions } },
      })),
    )
    .get("/dlq", async () => Response.json({ items: await w.dlq.list() }))
    .post("/dlq/replay", async () => Response.json(await w.dlq.replay()))
    .post("/reconcile", async ({ query }) => {
      const from = query.from ? new Date(String(query.from)) : undefined;
      const to = query.to ? new Date(String(query.to)) : undefined;
      if ((from && Number.isNaN(from.getTime())) || (to && Number.isNaN(to.getTime()))) {
        return Response.json({ error: "from/to must be ISO-8601 instants" }, { status: 400 });
      }
      return Response.json(await w.reconciler.reconcile({ from, to }));
    })
    .post("/reindex", async () => Response.json(await reindexNow()));
}
