/**
 * The processor's HTTP surface on its ops port: /health and /ready (open), /metrics (admin or
 * metrics token), and the writes DLQ operator actions, which show requests and apply them, so they
 * need the admin token: GET /dlq, POST /dlq/replay.
 */
import { pageLimit, requireOperator, type ServiceAppOptions, serviceApp } from "@a4c/shared";
import type { WritesDlqPage, WritesReplayReport } from "@a4c/shared/answers";
import type { DlqStream } from "./dlq.ts";
import type { DlqReplayer } from "./replay.ts";

const LIMIT = { default: 100, max: 1_000 } as const;

const listLimit = (raw: string | null) => pageLimit(raw, LIMIT);

export function opsApp(base: ServiceAppOptions, dlq: DlqStream, replayer: DlqReplayer) {
  return serviceApp(base).guard(
    { beforeHandle: ({ request }) => requireOperator(request, base.adminToken) },
    (operator) =>
      operator
        .get("/dlq", async ({ request }) => {
          const page: WritesDlqPage = await dlq.list(listLimit(new URL(request.url).searchParams.get("limit")));
          return Response.json(page);
        })
        .post("/dlq/replay", async () => {
          const report: WritesReplayReport = await replayer.replay();
          return Response.json(report);
        }),
  );
}
