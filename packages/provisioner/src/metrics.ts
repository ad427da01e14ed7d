import { Counter, createRegistry, Gauge, Histogram, JOB_TYPES, LATENCY_BUCKETS, zeroSeries } from "@a4c/shared";

export function provisionerMetrics() {
  const registry = createRegistry("provisioner");
  const metrics = {
    registry,
    jobs: new Counter({
      name: "a4c_provisioner_jobs_total",
      help: "Job runs by type and how they ended (completed, failed, canceled, held, lost).",
      labelNames: ["type", "outcome"],
      registers: [registry],
    }),
    steps: new Histogram({
      name: "a4c_provisioner_step_seconds",
      help: "Duration of each step, by step and outcome.",
      labelNames: ["step", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    running: new Gauge({
      name: "a4c_provisioner_jobs_running",
      help: "Jobs this instance runs now.",
      registers: [registry],
    }),
    hostUp: new Gauge({
      name: "a4c_provisioner_host_up",
      help: "1 when the host answered its last disk reading, 0 when it did not.",
      labelNames: ["host"],
      registers: [registry],
    }),
    hostDiskUsed: new Gauge({
      name: "a4c_provisioner_host_disk_used_bytes",
      help: "Bytes Docker holds on the host (layers, containers, volumes).",
      labelNames: ["host"],
      registers: [registry],
    }),
    diskReadSeconds: new Histogram({
      name: "a4c_provisioner_disk_read_seconds",
      help: "Time to read a host's disk use over SSH.",
      labelNames: ["host"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    cleanup: new Counter({
      name: "a4c_provisioner_cleanup_actions_total",
      help: "Containers and images the cleanup daemon removed, would have removed (dry run) or failed to remove.",
      labelNames: ["host", "action"],
      registers: [registry],
    }),
    historyPurged: new Counter({
      name: "a4c_provisioner_history_purged_rows_total",
      help: "Rows of job history (steps, output lines), cleanup record and schedule ticks purged past their retention.",
      registers: [registry],
    }),
    scheduleTicks: new Counter({
      name: "a4c_provisioner_schedule_ticks_total",
      help: "Schedule ticks this instance claimed, by what they did (build, or nothing to build).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
  };
  // The "jobs failing" alert counts failures: those series exist from boot.
  zeroSeries(
    metrics.jobs,
    JOB_TYPES.map((type) => ({ type, outcome: "failed" })),
  );
  return metrics;
}
export type ProvisionerMetrics = ReturnType<typeof provisionerMetrics>;
