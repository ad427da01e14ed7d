import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { createLogger, createSql, LISTEN_OPTIONS, migrate, purgeHistory, ShutdownManager } from "@a4c/shared";
import { opsApp } from "./app.ts";
import { CleanupDaemon } from "./cleanup/cleanup-daemon.ts";
import { DiskService } from "./disk/disk-service.ts";
import { loadEnv } from "./env.ts";
import { HostPool } from "./hosts/host-pool.ts";
import { JobRunner } from "./jobs/runner.ts";
import { provisionerMetrics } from "./metrics.ts";
import { Scheduler } from "./schedules/scheduler.ts";

const env = loadEnv();
const log = createLogger("provisioner", env.A4C_LOG_LEVEL);
const owner = env.A4C_INSTANCE_ID ?? `${hostname()}-${process.pid}`;
const sql = createSql(env.DATABASE_URL, { max: env.DATABASE_POOL_SIZE, application: "provisioner" });
await migrate(sql, log);
const metrics = provisionerMetrics();
const shutdown = new ShutdownManager(log, env.A4C_SHUTDOWN_TIMEOUT_MS);

const pool = new HostPool(sql, readFileSync(env.A4C_SSH_KEY), {
  connectMs: env.A4C_SSH_CONNECT_TIMEOUT_MS,
  callMs: env.A4C_REMOTE_TIMEOUT_MS,
  longMs: env.A4C_BUILD_TIMEOUT_MS,
});
const disk = new DiskService(sql, pool, metrics, log.child({ component: "disk" }));
const cleanup = new CleanupDaemon(sql, pool, metrics, log.child({ component: "cleanup" }), {
  deployment: env.A4C_DEPLOYMENT,
  graceMs: env.A4C_CLEANUP_GRACE_MS,
  dryRun: env.A4C_CLEANUP_DRY_RUN,
  imageRetentionHours: env.A4C_IMAGE_RETENTION_HOURS,
});
const scheduler = new Scheduler(sql, metrics, log.child({ component: "scheduler" }), {
  instance: owner,
  intervalMs: env.A4C_SCHEDULER_INTERVAL_MS,
});
const runner = new JobRunner(
  sql,
  {
    sql,
    pool,
    disk,
    log: log.child({ component: "steps" }),
    limits: {
      diskBytes: env.A4C_WORKSPACE_DISK_BYTES,
      inodes: env.A4C_WORKSPACE_INODES,
      memoryBytes: env.A4C_WORKSPACE_MEMORY_BYTES,
      cpus: env.A4C_WORKSPACE_CPUS,
      hostnameDomain: env.A4C_HOSTNAME_DOMAIN,
      deployment: env.A4C_DEPLOYMENT,
      baseImage: env.A4C_DEFAULT_IMAGE,
      buildDiskBytes: env.A4C_BUILD_DISK_BYTES,
      buildMemoryBytes: env.A4C_BUILD_MEMORY_BYTES,
      buildCpus: env.A4C_BUILD_CPUS,
    },
  },
  disk,
  metrics,
  log.child({ component: "runner" }),
  {
    owner,
    concurrency: env.A4C_PROVISION_CONCURRENCY,
    buildConcurrency: Math.min(env.A4C_BUILD_CONCURRENCY, env.A4C_PROVISION_CONCURRENCY),
    leaseMs: env.A4C_LEASE_MS,
    pollMs: env.A4C_POLL_MS,
    maxAttempts: env.A4C_PROVISION_MAX_ATTEMPTS,
    retryBaseMs: env.A4C_RETRY_BASE_MS,
    placementRetryMs: env.A4C_PLACEMENT_RETRY_MS,
    hangAfterStep: env.A4C_FAULT_HANG_AFTER_STEP,
  },
);

/** Runs `task` every `ms` (never two at once); returns a stop function that awaits the one running. */
function every(ms: number, name: string, task: () => Promise<unknown>): () => Promise<void> {
  if (ms <= 0) return async () => {};
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(task).catch((err) => log.warn({ event: `${name}.failed`, err }));
  }, ms);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

// Placement needs a disk reading of every host: take one before the first claim.
await disk.refreshAll().catch((err) => log.warn({ event: "disk.first_read_failed", err }));
const stopDisk = every(env.A4C_DISK_REFRESH_MS, "disk", () => disk.refreshAll());
const stopCleanup = every(env.A4C_CLEANUP_INTERVAL_MS, "cleanup", () => cleanup.sweep());
const stopHistory = every(env.A4C_HISTORY_PURGE_INTERVAL_MS, "history_purge", async () => {
  const started = performance.now();
  const purged = await purgeHistory(sql, env.A4C_HISTORY_RETENTION_DAYS);
  const rows = Object.values(purged).reduce((a, b) => a + b, 0);
  metrics.historyPurged.inc(rows);
  if (rows > 0) log.info({ event: "history_purge.done", ...purged, ms: Math.round(performance.now() - started) });
});
runner.start();
const stopScheduler = every(env.A4C_SCHEDULER_INTERVAL_MS, "scheduler", () => scheduler.pass());

const ops = opsApp({ env, sql, log, metrics, pool, disk, cleanup }).listen({
  port: env.PORT,
  hostname: env.HOST,
  ...LISTEN_OPTIONS,
});
log.info({ event: "provisioner.started", owner, port: env.PORT, concurrency: env.A4C_PROVISION_CONCURRENCY });

shutdown.register("http", async () => {
  await ops.stop();
});
shutdown.register("timers", async () => {
  await Promise.all([stopDisk(), stopCleanup(), stopHistory(), stopScheduler()]);
});
// Jobs in flight finish their step and are held for another instance to resume at once.
shutdown.register("runner", () => runner.stop());
shutdown.register("close", async () => {
  pool.close();
  await sql.end({ timeout: 5 });
});
shutdown.listen();
