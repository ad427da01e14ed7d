import { CommonEnv, parseEnv } from "@a4c/shared";
import { type Static, Type } from "@sinclair/typebox";

const MiB = 1024 * 1024;

export const ProvisionerEnv = Type.Object({
  A4C_LOG_LEVEL: CommonEnv.A4C_LOG_LEVEL,
  DATABASE_URL: CommonEnv.DATABASE_URL,
  DATABASE_POOL_SIZE: CommonEnv.DATABASE_POOL_SIZE,
  A4C_SHUTDOWN_TIMEOUT_MS: CommonEnv.A4C_SHUTDOWN_TIMEOUT_MS,
  A4C_ADMIN_TOKEN: CommonEnv.A4C_ADMIN_TOKEN,
  A4C_METRICS_TOKEN: CommonEnv.A4C_METRICS_TOKEN,
  /** Port of /health, /ready and /metrics. */
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3005 }),
  HOST: Type.String({ default: "127.0.0.1" }),
  /** The private key this control plane logs in to hosts with (OpenSSH format). */
  A4C_SSH_KEY: Type.String({ minLength: 1, default: ".local/ssh/id_ed25519" }),
  /**
   * Names this control plane's containers (label `a4c.deployment`): the cleanup daemon only ever
   * touches its own deployment's containers, so several control planes (or test runs) can share hosts.
   */
  A4C_DEPLOYMENT: Type.String({ pattern: "^[a-zA-Z0-9_.-]{1,64}$", default: "a4c" }),
  /** This instance's name in leases; host-pid by default. */
  A4C_INSTANCE_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  /** Jobs one instance runs at the same time; 0 runs none (an instance for disk readings and cleanup only). */
  A4C_PROVISION_CONCURRENCY: Type.Integer({ minimum: 0, maximum: 64, default: 4 }),
  /** How long a claimed job is ours without a heartbeat; renewed every third of it. */
  A4C_LEASE_MS: Type.Integer({ minimum: 1_000, default: 15_000 }),
  /** How often an idle runner looks for work. */
  A4C_POLL_MS: Type.Integer({ minimum: 50, default: 500 }),
  /** Runs of one job (claims, takeovers and transient retries together) before it fails for good. */
  A4C_PROVISION_MAX_ATTEMPTS: Type.Integer({ minimum: 1, default: 6 }),
  /** First retry delay after a transient host error; doubles, at most 30 s. */
  A4C_RETRY_BASE_MS: Type.Integer({ minimum: 10, default: 1_000 }),
  /** How long a job that cannot be placed waits before it looks again. */
  A4C_PLACEMENT_RETRY_MS: Type.Integer({ minimum: 100, default: 5_000 }),
  /** Bound on every remote call (an SSH command or a Docker API request). */
  A4C_REMOTE_TIMEOUT_MS: Type.Integer({ minimum: 500, default: 20_000 }),
  A4C_SSH_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 500, default: 5_000 }),
  /** Disk each workspace reserves on its host; also the size of its /workspace (a tmpfs). */
  A4C_WORKSPACE_DISK_BYTES: Type.Integer({ minimum: MiB, default: 64 * MiB }),
  /** Files /workspace may hold (the tmpfs's inode limit). */
  A4C_WORKSPACE_INODES: Type.Integer({ minimum: 1, default: 100_000 }),
  A4C_WORKSPACE_MEMORY_BYTES: Type.Integer({ minimum: 8 * MiB, default: 128 * MiB }),
  /** CPU share per workspace, in CPUs (0.5 = half a core). */
  A4C_WORKSPACE_CPUS: Type.Number({ exclusiveMinimum: 0, maximum: 64, default: 0.5 }),
  /** The image every host has; workspaces on it need no transfer (the gateway's default image). */
  A4C_DEFAULT_IMAGE: Type.String({ minLength: 1, default: "a4c/base:latest" }),
  /** Of the jobs run at once, how many may be image builds (the rest stay free for workspaces). */
  A4C_BUILD_CONCURRENCY: Type.Integer({ minimum: 0, maximum: 64, default: 2 }),
  /** Memory and CPUs each build's steps may use. */
  A4C_BUILD_MEMORY_BYTES: Type.Integer({ minimum: 16 * MiB, default: 1024 * MiB }),
  A4C_BUILD_CPUS: Type.Number({ exclusiveMinimum: 0, maximum: 64, default: 1 }),
  /** Disk held on the build host while an image builds. */
  A4C_BUILD_DISK_BYTES: Type.Integer({ minimum: MiB, default: 512 * MiB }),
  /** Bound on a build, and on copying an image between hosts. */
  A4C_BUILD_TIMEOUT_MS: Type.Integer({ minimum: 1_000, default: 600_000 }),
  /** How often the scheduler looks for due schedule ticks; 0: this instance schedules nothing. */
  A4C_SCHEDULER_INTERVAL_MS: Type.Integer({ minimum: 0, default: 1_000 }),
  /**
   * Days the history of finished jobs (their steps and output lines), the cleanup record and
   * schedule ticks are kept; purged in batches every A4C_HISTORY_PURGE_INTERVAL_MS (0: never).
   */
  A4C_HISTORY_RETENTION_DAYS: Type.Number({ exclusiveMinimum: 0, default: 30 }),
  A4C_HISTORY_PURGE_INTERVAL_MS: Type.Integer({ minimum: 0, default: 3_600_000 }),
  /** Hours an image no workspace uses is kept on the hosts; 0 keeps them. */
  A4C_IMAGE_RETENTION_HOURS: Type.Number({ minimum: 0, default: 168 }),
  /** Domain of workspace hostnames: `<project>-<id>.<host>.<domain>`. */
  A4C_HOSTNAME_DOMAIN: Type.String({ pattern: "^[a-z0-9.-]+$", default: "a4c.internal" }),
  /** How often each host's disk use is read (also read on demand after each placement). */
  A4C_DISK_REFRESH_MS: Type.Integer({ minimum: 500, default: 15_000 }),
  /** How often the cleanup daemon looks for orphans; 0 turns it off. */
  A4C_CLEANUP_INTERVAL_MS: Type.Integer({ minimum: 0, default: 60_000 }),
  /** How old an orphan must be before it is removed. */
  A4C_CLEANUP_GRACE_MS: Type.Integer({ minimum: 0, default: 120_000 }),
  /** Report what would be removed, remove nothing. */
  A4C_CLEANUP_DRY_RUN: Type.Boolean({ default: false }),
  /**
   * Fault injection for tests: after doing this step's work, and before recording it, the runner
   * stops making progress (as a provisioner frozen or killed at the worst moment would). Never set
   * it in production.
   */
  A4C_FAULT_HANG_AFTER_STEP: Type.Optional(Type.String({ pattern: "^[a-z_]+$" })),
});
export type ProvisionerEnv = Static<typeof ProvisionerEnv>;

export const loadEnv = (env: Record<string, string | undefined> = process.env) => parseEnv(ProvisionerEnv, env);
