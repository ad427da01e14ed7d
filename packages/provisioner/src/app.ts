/**
 * The provisioner's HTTP surface on its ops port: /health and /ready (open), /metrics (admin or
 * metrics token), and operator actions (admin token): POST /cleanup runs the cleanup daemon now,
 * POST /hosts/refresh reads every host's disk now.
 */
import { postgresCheck, type ReadyCheck, requireOperator, serviceApp } from "@a4c/shared";
import type { CleanupDaemon } from "./cleanup/cleanup-daemon.ts";
import type { DiskService } from "./disk/disk-service.ts";
import type { ProvisionerEnv } from "./env.ts";
import type { HostPool } from "./hosts/host-pool.ts";
import type { ProvisionerMetrics } from "./metrics.ts";

export interface OpsDeps {
  env: ProvisionerEnv;
  sql: import("@a4c/shared").Sql;
  log: import("@a4c/shared").Logger;
  metrics: ProvisionerMetrics;
  pool: HostPool;
  disk: DiskService;
  cleanup: CleanupDaemon;
}

export function opsApp(d: OpsDeps) {
  // Ready: PostgreSQL answers (jobs can be claimed); hosts are reported, never a reason to be unready.
  const ready: ReadyCheck = async () => ({
    postgres: await postgresCheck(d.sql),
    hosts: {
      ok: true,
      detail: Object.fromEntries(
        d.pool.all().map((h) => [h.row.name, h.runtime.ssh.connected ? "connected" : h.row.state]),
      ),
    },
  });
  return serviceApp({
    log: d.log,
    registry: d.metrics.registry,
    ready,
    adminToken: d.env.A4C_ADMIN_TOKEN,
    metricsToken: d.env.A4C_METRICS_TOKEN,
  }).guard({ beforeHandle: ({ request }) => requireOperator(request, d.env.A4C_ADMIN_TOKEN) }, (operator) =>
    operator
      .post("/cleanup", async () =>
        Response.json({ actions: await d.cleanup.sweep(), dryRun: d.env.A4C_CLEANUP_DRY_RUN }),
      )
      .post("/hosts/refresh", async () => Response.json({ answered: await d.disk.refreshAll() })),
  );
}
