/**
 * The launcher behind `npm start | stop | status | test | bench`. It installs what is missing,
 * runs the project's own infrastructure under .local/ on its own ports, and our services.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  CommonEnv,
  createLogger,
  createSql,
  DEFAULT_LIMITS,
  ensureWriteStreams,
  jetstreamManager,
  migrate,
  parseEnv,
  StreamNames,
} from "@a4c/shared";
import { connect } from "@nats-io/transport-node";
import { Type } from "@sinclair/typebox";
import type { Component } from "./components/types.ts";
import { composeCli } from "./compose.ts";
import { deployCli } from "./deploy.ts";
import { buildImage } from "./images.ts";
import { registerHosts } from "./lib/hosts.ts";
import { adminToken, DATABASE_NAME, databaseUrl, ensureDirs, LOCAL, LOGS, natsUrl, PORTS, ROOT } from "./lib/paths.ts";
import { aptInstall, isAlive, say, sleep } from "./lib/shell.ts";
import { runnableComponents, stack } from "./stack.ts";

export const TEST_TEMPLATE_DB = "a4c_test_template";

async function timed(component: Component, action: () => Promise<void>): Promise<number> {
  const started = performance.now();
  say(`${component.name}: starting…`);
  await action();
  const ms = Math.round(performance.now() - started);
  say(`${component.name}: ready in ${ms} ms`);
  return ms;
}

async function startInfrastructure() {
  ensureDirs();
  const s = stack();
  const { postgres, nats, redis, elasticsearch, kafka } = s.infrastructure;
  for (const c of [postgres, nats, redis, elasticsearch, kafka]) await timed(c, () => c.start());
  // Started here, before any test runner, so that no test process owns them.
  for (const h of s.hosts) await timed(h, () => h.start());
  postgres.ensureDatabase(DATABASE_NAME);
  await migrateDatabase(databaseUrl(DATABASE_NAME));
  await withSql(databaseUrl(DATABASE_NAME), (sql) => registerHosts(sql, s.hosts));
  for (const c of [s.cdc.debeziumNats, s.cdc.debeziumKafka]) await timed(c, () => c.start());
  return s;
}

async function withSql<T>(url: string, work: (sql: ReturnType<typeof createSql>) => Promise<T>): Promise<T> {
  const sql = createSql(url, { max: 1, application: "a4c-launcher" });
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

async function migrateDatabase(url: string): Promise<void> {
  const sql = createSql(url, { max: 1, application: "a4c-launcher" });
  try {
    const applied = await migrate(sql, createLogger("launcher", "warn"));
    if (applied.length) say(`migrations applied to ${url.split("/").pop()}: ${applied.join(", ")}`);
  } finally {
    await sql.end();
  }
}

async function printStatus(): Promise<boolean> {
  const s = stack();
  const all: Component[] = [
    ...Object.values(s.infrastructure),
    ...Object.values(s.cdc),
    ...s.hosts,
    ...Object.values(s.services),
    ...Object.values(s.monitoring),
  ];
  let allUp = true;
  for (const c of all) {
    const st = await c.status();
    allUp &&= st.running;
    const mem = st.rssMb !== undefined ? `${st.rssMb} MiB` : "-";
    say(
      `${c.name.padEnd(16)} ${(st.running ? "running" : "stopped").padEnd(8)} pid=${String(st.pid ?? "-").padEnd(8)} rss=${mem.padEnd(9)} ${st.detail}`,
    );
  }
  return allUp;
}

async function start(): Promise<void> {
  const s = await startInfrastructure();
  for (const svc of Object.values(s.services)) await timed(svc, () => svc.start());
  for (const m of [s.monitoring.alertmanager, s.monitoring.prometheus]) await timed(m, () => m.start());
  await printStatus();
  say("");
  say(`dashboard      http://127.0.0.1:${PORTS.dashboard}   (sign in with a user token or the admin token)`);
  say(`CLI            npx a4c login --url http://127.0.0.1:${PORTS.dashboard} < .local/admin-token`);
  say(`write-gateway  http://127.0.0.1:${PORTS.gateway}`);
  say(`read-api       http://127.0.0.1:${PORTS.readApi}`);
  say(`processor ops  http://127.0.0.1:${PORTS.processor}/metrics`);
  say(`es-sync ops    http://127.0.0.1:${PORTS.esSync}/ready   (/metrics, /dlq, /reindex: admin token)`);
  say(
    `provisioner    http://127.0.0.1:${PORTS.provisioner}/ready   (hosts: ${s.hosts.map((h) => h.hostName).join(", ")})`,
  );
  say(`ci-consumer    http://127.0.0.1:${PORTS.ciConsumer}/ready   (Kafka ci.builds → POST /v1/images/builds)`);
  say(
    `prometheus     ${s.monitoring.prometheus.url}/alerts   (rules: infra/monitoring/alerts.yml; metrics token in .local/metrics-token)`,
  );
  say(
    `alertmanager   ${s.monitoring.alertmanager.url}   (posts to ${process.env.A4C_ALERT_WEBHOOK_URL || "no webhook: set A4C_ALERT_WEBHOOK_URL"})`,
  );
  say(`admin token    ${adminToken()}   (also in .local/admin-token)`);
  say(`logs           ${LOGS}`);
}

async function stop(): Promise<void> {
  const s = stack();
  // Monitoring, then services (they drain), then infrastructure in reverse start order.
  for (const svc of [
    s.monitoring.prometheus,
    s.monitoring.alertmanager,
    s.services.ciConsumer,
    s.services.dashboard,
    s.services.writeGateway,
    s.services.readApi,
    s.services.provisioner,
    s.services.writeProcessor,
    s.services.esSync,
  ]) {
    say(`${svc.name}: stopping`);
    await svc.stop();
  }
  const { debeziumKafka, debeziumNats } = s.cdc;
  const { kafka, elasticsearch, redis, nats, postgres } = s.infrastructure;
  for (const c of [...s.hosts, debeziumKafka, debeziumNats, kafka, elasticsearch, redis, nats, postgres]) {
    say(`${c.name}: stopping`);
    await c.stop();
  }
}

/** Runs a child with inherited terminal output while keeping a copy for parsing. */
function runTee(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const tee = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString();
      to.write(chunk);
    };
    child.stdout.on("data", (c) => tee(c, process.stdout));
    child.stderr.on("data", (c) => tee(c, process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * Starts the infrastructure and a migrated template database: each test file (and each benchmark)
 * clones it into a database of its own. Migrating is idempotent; a template whose applied
 * migrations were edited is rebuilt.
 */
async function startWithTemplate(): Promise<Record<string, string>> {
  const s = await startInfrastructure();
  const { postgres } = s.infrastructure;
  postgres.ensureDatabase(TEST_TEMPLATE_DB);
  try {
    await migrateDatabase(databaseUrl(TEST_TEMPLATE_DB));
  } catch {
    postgres.psql(`DROP DATABASE IF EXISTS "${TEST_TEMPLATE_DB}"`);
    postgres.ensureDatabase(TEST_TEMPLATE_DB);
    await migrateDatabase(databaseUrl(TEST_TEMPLATE_DB));
  }
  return { A4C_TEST_TEMPLATE_DB: TEST_TEMPLATE_DB, ...s.env };
}

async function test(args: string[]): Promise<number> {
  // The dashboard tests drive Debian's Chromium (no browser download works here).
  aptInstall(["chromium"]);
  // The alert tests run their own Prometheus and Alertmanager from the same packages.
  stack().monitoring.prometheus.install();
  const env = await startWithTemplate();
  const started = performance.now();
  const { code, output } = await runTee(process.execPath, ["test", "--timeout", "120000", ...args], env);
  const passed = Number(/^\s*(\d+) pass$/m.exec(output)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail$/m.exec(output)?.[1] ?? 0);
  say(`tests took ${Math.round((performance.now() - started) / 1000)} s`);
  // The closing line CI reads.
  console.log(`${passed} passed, ${failed} failed`);
  return code !== 0 || failed > 0 || passed === 0 ? 1 : 0;
}

const BENCHMARKS: Record<string, string> = {
  writes: "bench/run.ts",
  reads: "bench/reads.ts",
  search: "bench/search.ts",
  provision: "bench/provision.ts",
  dashboard: "bench/dashboard.ts",
  images: "bench/images.ts",
  retention: "bench/retention.ts",
};

/** `bench [writes]` runs the write-path benchmark; `bench reads` the cache and change-data one; `bench search` job search. */
async function bench(args: string[]): Promise<number> {
  const env = await startWithTemplate();
  // The load generator of the write and read benchmarks (pgbench and redis-benchmark come with
  // the PostgreSQL and Redis packages the infrastructure installs).
  aptInstall(["wrk"]);
  const [which = "writes", ...rest] = args;
  const named = BENCHMARKS[which];
  const script = named ?? BENCHMARKS.writes ?? "bench/run.ts";
  const scriptArgs = named ? rest : args;
  const { code } = await runTee(process.execPath, [script, ...scriptArgs], env);
  return code;
}

/**
 * `backup [file] [--database a4c]`: PostgreSQL, the source of truth, to one file (default
 * `.local/backups/<database>-<time>.dump`). Elasticsearch and Redis are rebuilt from it
 * (docs/operations.md, "Backups").
 */
function backup(args: string[]): void {
  const at = args.indexOf("--database");
  const database = at >= 0 ? (args[at + 1] ?? DATABASE_NAME) : DATABASE_NAME;
  const positional = at >= 0 ? args.filter((_, i) => i !== at && i !== at + 1) : args;
  const file =
    positional[0] ?? join(LOCAL, "backups", `${database}-${new Date().toISOString().replace(/[:.]/g, "-")}.dump`);
  mkdirSync(dirname(file), { recursive: true });
  const started = performance.now();
  stack().infrastructure.postgres.dump(database, file);
  say(
    `backup of ${database}: ${file} (${(statSync(file).size / 1024).toFixed(0)} KiB, ${Math.round(performance.now() - started)} ms)`,
  );
}

/** `restore <file> <database>`: into a new database, never over one. */
function restore(args: string[]): number {
  const [file, database] = args;
  if (!file || !database || !existsSync(file)) {
    say("usage: restore <backup file> <new database name>");
    return 2;
  }
  const started = performance.now();
  stack().infrastructure.postgres.restore(file, database);
  say(`restored ${file} into ${database} (${Math.round(performance.now() - started)} ms)`);
  say(`next: point DATABASE_URL at it, then rebuild the search index (POST /reindex on es-sync) and flush Redis`);
  return 0;
}

/** Every component the launcher knows, by name (the simulated hosts aside: they are test fixtures). */
function componentsByName(): Map<string, Component> {
  return new Map(runnableComponents().map((c) => [c.name, c]));
}

/**
 * `prepare`: what must exist before change capture and the services start, made if missing (the
 * launcher does the same inside `start`): the database and its migrations (which create the
 * publications), Debezium's replication slots, its JetStream stream and Kafka change topics, and
 * the write streams. The compose file's init step and the deploy run it; each component still
 * makes what it owns at its own start, so the order never matters for correctness.
 */
async function prepare(): Promise<void> {
  ensureDirs();
  const s = stack();
  s.infrastructure.postgres.ensureDatabase(DATABASE_NAME);
  await migrateDatabase(databaseUrl(DATABASE_NAME));
  for (const c of Object.values(s.cdc)) await c.prepare();
  const common = parseEnv(
    Type.Object({ A4C_NAMESPACE: CommonEnv.A4C_NAMESPACE, A4C_RETENTION_HOURS: CommonEnv.A4C_RETENTION_HOURS }),
    process.env,
  );
  const nc = await connect({ servers: natsUrl(), timeout: 5_000 });
  try {
    await ensureWriteStreams(await jetstreamManager(nc), new StreamNames(common.A4C_NAMESPACE), {
      ...DEFAULT_LIMITS,
      retentionHours: common.A4C_RETENTION_HOURS,
    });
  } finally {
    await nc.close();
  }
  say(
    `prepared: database ${DATABASE_NAME} migrated; replication slots, change stream and topics, write streams in place`,
  );
}

/**
 * `run <component>`: starts one component and stays in the foreground while it lives, its log on
 * stdout; SIGTERM stops it the component's own way (services drain). Exits 1 when the component
 * dies, so a container runtime or a supervisor restarts it. The same code as `npm start`, one
 * component per process.
 */
async function runInForeground(name: string | undefined): Promise<number> {
  const component = name ? componentsByName().get(name) : undefined;
  if (!component) {
    say(`run <component>: one of ${[...componentsByName().keys()].join(", ")}`);
    return 2;
  }
  ensureDirs();
  let tail: ReturnType<typeof spawn> | null = null;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say(`${component.name}: stopping`);
    await component.stop();
    tail?.kill();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await timed(component, () => component.start());
  const logFile = (component as { logFile?: string }).logFile;
  if (logFile) tail = spawn("tail", ["-n", "+1", "-F", logFile], { stdio: ["ignore", "inherit", "inherit"] });
  for (;;) {
    await sleep(2_000);
    if (stopping) continue;
    const { pid } = await component.status();
    if (!isAlive(pid ?? null)) {
      say(`${component.name}: exited`);
      tail?.kill();
      return 1;
    }
  }
}

/** `ready <component>`: exit 0 when it runs and answers (a container health check). */
async function ready(name: string | undefined): Promise<number> {
  const component = name ? componentsByName().get(name) : undefined;
  return component && (await component.status()).running ? 0 : 1;
}

const [command = "start", ...rest] = process.argv.slice(2);
try {
  switch (command) {
    case "start":
      await start();
      break;
    case "infra":
      await startInfrastructure();
      await printStatus();
      break;
    case "stop":
      await stop();
      break;
    case "status":
      process.exitCode = (await printStatus()) ? 0 : 1;
      break;
    case "test":
      process.exitCode = await test(rest);
      break;
    case "bench":
      process.exitCode = await bench(rest);
      break;
    case "backup":
      backup(rest);
      break;
    case "install":
      for (const c of componentsByName().values()) await c.install();
      say("everything the components need is installed");
      break;
    case "deploy":
      process.exitCode = await deployCli(rest);
      break;
    case "images":
      buildImage();
      break;
    case "compose":
      process.exitCode = await composeCli(rest);
      break;
    case "prepare":
      await prepare();
      break;
    case "run":
      process.exitCode = await runInForeground(rest[0]);
      break;
    case "ready":
      process.exitCode = await ready(rest[0]);
      break;
    case "restore":
      process.exitCode = restore(rest);
      break;
    default:
      say(
        `unknown command ${command}; use start | infra | stop | status | test | bench | backup | restore | install | deploy go|update|status|logs|ssh|destroy | images | compose up|down|ps|logs | prepare | run <component> | ready <component>`,
      );
      process.exitCode = 2;
  }
} catch (err) {
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
