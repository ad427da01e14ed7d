import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..", "..");
export const LOCAL = join(ROOT, ".local");
export const LOGS = join(LOCAL, "logs");
export const RUN = join(LOCAL, "run");

/** Every port variable and the value it has in this process, as `port()` read them. */
const PORT_VARIABLES = new Map<string, number>();

function port(name: string, fallback: number): number {
  const v = process.env[name];
  const value = v ? Number(v) : fallback;
  PORT_VARIABLES.set(name, value);
  return value;
}

/** Every port the launcher uses; all overridable by environment, none the services' defaults. */
export const PORTS = {
  postgres: port("A4C_PG_PORT", 55432),
  nats: port("A4C_NATS_PORT", 54222),
  natsMonitor: port("A4C_NATS_MONITOR_PORT", 58222),
  redis: port("A4C_REDIS_PORT", 56379),
  gateway: port("A4C_GATEWAY_PORT", 3000),
  readApi: port("A4C_READ_API_PORT", 3001),
  processor: port("A4C_PROCESSOR_PORT", 3002),
  esSync: port("A4C_ES_SYNC_PORT", 3003),
  dashboard: port("A4C_DASHBOARD_PORT", 3004),
  provisioner: port("A4C_PROVISIONER_PORT", 3005),
  ciConsumer: port("A4C_CI_CONSUMER_PORT", 3006),
  kafka: port("A4C_KAFKA_PORT", 59092),
  kafkaController: port("A4C_KAFKA_CONTROLLER_PORT", 59093),
  debeziumNats: port("A4C_DEBEZIUM_NATS_PORT", 58081),
  debeziumKafka: port("A4C_DEBEZIUM_KAFKA_PORT", 58082),
  elasticsearch: port("A4C_ES_PORT", 59200),
  /** First of the simulated hosts' sshd ports (one per host, consecutive). */
  hostSsh: port("A4C_HOST_SSH_PORT", 52201),
  elasticsearchTransport: port("A4C_ES_TRANSPORT_PORT", 59300),
  prometheus: port("A4C_PROMETHEUS_PORT", 59090),
  alertmanager: port("A4C_ALERTMANAGER_PORT", 59095),
};

/**
 * The ports as the environment variables that set them (`A4C_PG_PORT=55432`, …), for a stack that
 * runs elsewhere with these ports (containers, a deployment); the simulated hosts' port aside.
 */
export function portEnvironment(): Record<string, string> {
  return Object.fromEntries(
    [...PORT_VARIABLES].filter(([name]) => name !== "A4C_HOST_SSH_PORT").map(([name, value]) => [name, String(value)]),
  );
}

export function ensureDirs(): void {
  for (const d of [LOCAL, LOGS, RUN]) mkdirSync(d, { recursive: true });
}

/** A secret from the environment, else generated once and kept under .local/. */
function localSecret(envName: string, file: string): string {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  const path = join(LOCAL, file);
  if (!existsSync(path)) {
    ensureDirs();
    writeFileSync(path, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
  }
  return readFileSync(path, "utf8").trim();
}

export const adminToken = () => localSecret("A4C_ADMIN_TOKEN", "admin-token");
export const tokenSecret = () => localSecret("A4C_TOKEN_SECRET", "token-secret");
/** Opens every service's /metrics and nothing else: Prometheus scrapes with it. */
export const metricsToken = () => localSecret("A4C_METRICS_TOKEN", "metrics-token");

export const DATABASE_NAME = "a4c";
export const databaseUrl = (db = DATABASE_NAME, p = PORTS.postgres) => `postgres://a4c@127.0.0.1:${p}/${db}`;
export const natsUrl = (p = PORTS.nats) => `nats://127.0.0.1:${p}`;
export const redisUrl = (p = PORTS.redis) => `redis://127.0.0.1:${p}`;
export const elasticsearchUrl = (p = PORTS.elasticsearch) => `http://127.0.0.1:${p}`;
