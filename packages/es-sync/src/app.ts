/**
 * es-sync's HTTP surface on its ops port: /health and /ready (open), /metrics (admin or metrics
 * token), and the operator actions, which reveal indexed data or change the index and so need the
 * admin token: GET /dlq, POST /dlq/replay, POST /reconcile, GET and POST /reindex.
 */
import { pageLimit, parseInstant, postgresCheck, problems, requireOperator, serviceApp } from "@a4c/shared";
import type { SearchDlqPage, SearchReplayReport } from "@a4c/shared/answers";
import type { CdcConsumer } from "./cdc-consumer.ts";
import type { ReindexRunner } from "./reindex.ts";
import type { Wiring } from "./wiring.ts";

export interface OpsTokens {
  adminToken: string;
  metricsToken?: string | undefined;
}

const dlqLimit = (raw: string | null) => pageLimit(raw, { default: 100, max: 1_000 });

/** The reconciler's window: both ends optional, on the calendar, `from` before `to`. */
function reconcileWindow(params: URLSearchParams): { from?: Date; to?: Date } {
  const raw = { from: params.get("from"), to: params.get("to") };
  const from = raw.from ? parseInstant(raw.from, "from") : undefined;
  const to = raw.to ? parseInstant(raw.to, "to") : undefined;
  if (from && to && from.getTime() >= to.getTime()) throw problems.badRequest("from must be before to");
  return { from, to };
}

export function opsApp(w: Wiring, cdc: CdcConsumer, reindex: ReindexRunner, tokens: OpsTokens) {
  return serviceApp({
    log: w.log,
    registry: w.metrics.registry,
    adminToken: tokens.adminToken,
    metricsToken: tokens.metricsToken,
    ready: async () => ({
      postgres: await postgresCheck(w.sql),
      elasticsearch: { ok: await w.index.ping() },
      kafka: { ok: true, detail: { partitions: cdc.assignedPartitions } },
    }),
  }).guard({ beforeHandle: ({ request }) => requireOperator(request, tokens.adminToken) }, (operator) =>
    operator
      .get("/dlq", async ({ request }) => {
        const limit = dlqLimit(new URL(request.url).searchParams.get("limit"));
        const items = await w.dlq.list();
        const page: SearchDlqPage = { items: items.slice(0, limit), total: items.length };
        return Response.json(page);
      })
      .post("/dlq/replay", async () => {
        const report: SearchReplayReport = await w.dlq.replay();
        return Response.json(report);
      })
      .post("/reconcile", async ({ request }) =>
        Response.json(await w.reconciler.reconcile(reconcileWindow(new URL(request.url).searchParams))),
      )
      // A reindex runs in the background: 202 and its state, then GET /reindex shows the progress.
      .post("/reindex", () => {
        if (!reindex.start()) throw problems.conflict("a reindex is already running; GET /reindex shows it");
        return Response.json(reindex.status, { status: 202, headers: { location: "/reindex" } });
      })
      .get("/reindex", () => Response.json(reindex.status)),
  );
}
