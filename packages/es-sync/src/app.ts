/** es-sync's HTTP surface on its ops port: health, readiness, metrics, and the operator actions. */
import { HttpProblem, opsRoutes, postgresCheck, problemResponse } from "@a4c/shared";
import { Elysia } from "elysia";
import type { CdcConsumer } from "./cdc-consumer.ts";
import type { ReindexRunner } from "./reindex.ts";
import type { Wiring } from "./wiring.ts";

export function opsApp(w: Wiring, cdc: CdcConsumer, reindex: ReindexRunner) {
  return (
    new Elysia()
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
          return problemResponse(new HttpProblem(400, "Bad Request", "from and to must be ISO-8601 instants"));
        }
        return Response.json(await w.reconciler.reconcile({ from, to }));
      })
      // A reindex runs in the background: 202 and its state, then GET /reindex shows the progress.
      .post("/reindex", () => {
        if (!reindex.start()) {
          return problemResponse(
            new HttpProblem(409, "Conflict", "a reindex is already running; GET /reindex shows it"),
          );
        }
        return Response.json(reindex.status, { status: 202, headers: { location: "/reindex" } });
      })
      .get("/reindex", () => Response.json(reindex.status))
  );
}
