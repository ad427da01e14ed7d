/**
 * Issue 2's benchmark: how many writes the gateway accepts, how fast, how quickly the processor
 * applies them, each beside the machine's own limits measured in the same run (raw JetStream,
 * pgbench, a direct HTTP→PostgreSQL baseline). Run with `npm run bench`.
 *
 * It starts its own services in its own namespace and database, sends traffic only to
 * 127.0.0.1, stops everything it started (by pid) and drops its database, also on failure.
 * Knobs: BENCH_SECONDS (10), BENCH_CONCURRENCY (64), BENCH_LOW_RATE (500), BENCH_LIMIT_SECONDS (390).
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { meterStack as meter } from "./lib/cpu.ts";
import { rawPublishRate } from "./lib/jetstream.ts";
import { fixedRate, ledgerLatency } from "./lib/load.ts";
import { evaluateTargets, type Results, toMarkdown, writeResults } from "./lib/report.ts";
import {
  type BenchStack,
  ledgerRows,
  onCleanup,
  progress,
  removeWorkDir,
  startStack,
  stopStack,
  waitDrained,
} from "./lib/stack.ts";
import { say } from "./lib/stats.ts";
import {
  ensureWrk,
  findPgbench,
  killChildren,
  type PgbenchResult,
  pgbenchScript,
  runPgbench,
  runWrk,
  spawnTracked,
  stopTracked,
  type WrkResult,
} from "./lib/tools.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SECONDS = env("BENCH_SECONDS", 10);
const CONCURRENCY = env("BENCH_CONCURRENCY", 64);
const WRK_THREADS = 2;
const LOW_RATE = env("BENCH_LOW_RATE", 500);
const LIMIT_SECONDS = env("BENCH_LIMIT_SECONDS", 390);
const DRAIN_LIMIT_MS = 150_000;
const RESULTS_DIR = join(import.meta.dir, "results");
const RUN = Date.now().toString(36);

let stack = null as BenchStack | null;
let finished = false;
let aborted = false;
let closing: Promise<void> | null = null;

/** Ends children, stops services, drops the database: once, whoever asks first (end, error, signal). */
function closeOnce(): Promise<void> {
  closing ??= (async () => {
    say("cleaning up: stopping services and children, deleting streams, dropping the database");
    await killChildren();
    await stopStack(finished ? undefined : stack?.dir);
    if (finished && stack) removeWorkDir(stack.dir);
    say("done");
  })();
  return closing;
}

async function abort(reason: string, code: number): Promise<never> {
  aborted = true;
  say(`stopping early: ${reason}`);
  await closeOnce();
  process.exit(code);
}

const watchdog = setTimeout(() => void abort(`the run exceeded its ${LIMIT_SECONDS} s limit`, 1), LIMIT_SECONDS * 1000);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void abort(`received ${signal}`, 130));

async function measureLimits(s: BenchStack, wrk: string): Promise<Results["limits"]> {
  const jsSeconds = Math.max(3, SECONDS / 2);
  say(`limit 1/3: raw JetStream publish-with-ack, ${CONCURRENCY} in flight, ${jsSeconds} s`);
  const jetstream = await rawPublishRate(s, CONCURRENCY, jsSeconds);
  say(`limit 1/3: the same with the gateway's msgID, expectation and header, ${jsSeconds} s`);
  const jetstreamGatewayLike = await rawPublishRate(s, CONCURRENCY, jsSeconds, "gateway-like");

  const pgbench = findPgbench();
  const script = join(s.dir, "workspace-create.sql");
  writeFileSync(script, pgbenchScript(s.user.id));
  const pgb: PgbenchResult[] = [];
  for (const clients of [1, 8, CONCURRENCY]) {
    say(`limit 2/3: pgbench one transaction per write, -c ${clients}, ${SECONDS} s`);
    const r = await runPgbench({
      pgbench,
      port: s.pgPort,
      database: s.database,
      scriptFile: script,
      clients,
      seconds: SECONDS,
    });
    say(`pgbench -c ${clients}: ${r.tps.toFixed(0)} tps, latency avg ${r.latencyAvgMs} ms`);
    pgb.push(r);
  }

  say(
    `limit 3/3: baseline direct HTTP→PostgreSQL server on ${s.ports.baseline}, wrk -t${WRK_THREADS} -c${CONCURRENCY} ${SECONDS} s`,
  );
  const server = spawnTracked(
    [process.execPath, join(import.meta.dir, "baseline-server.ts")],
    { PORT: String(s.ports.baseline), DATABASE_URL: s.databaseUrl, BASELINE_POOL: String(CONCURRENCY) },
    join(s.dir, "baseline-server.log"),
  );
  onCleanup("service", "stop baseline server", () => stopTracked(server));
  const baseUrl = `http://127.0.0.1:${s.ports.baseline}`;
  const deadline = Date.now() + 30_000;
  while (
    !(await fetch(`${baseUrl}/health`)
      .then((r) => r.ok)
      .catch(() => false))
  ) {
    if (Date.now() > deadline || server.exitCode !== null)
      throw new Error("baseline server did not start (see its log)");
    await Bun.sleep(100);
  }
  const cpu = meter(s, { baseline: () => [server.pid] });
  const baseline = await wrkWorkspaces(wrk, baseUrl, s, `base-${RUN}`);
  baseline.cpu = cpu.stop();
  say(`baseline: ${baseline.acceptedPerSec.toFixed(0)} writes/s committed (${baseline.other} non-2xx)`);
  await stopTracked(server);
  return { jetstream, jetstreamGatewayLike, pgbench: pgb, baseline };
}

function wrkWorkspaces(wrk: string, baseUrl: string, s: BenchStack, label: string): Promise<WrkResult> {
  return runWrk({
    wrk,
    baseUrl,
    path: `/v1/users/${s.user.id}/workspaces`,
    token: s.user.token,
    label,
    threads: WRK_THREADS,
    connections: CONCURRENCY,
    seconds: SECONDS,
    workDir: s.dir,
  });
}

/** Waits for the processor to catch up so the next phase starts from an empty queue. */
async function settle(s: BenchStack, what: string): Promise<void> {
  const t = performance.now();
  await waitDrained(s, DRAIN_LIMIT_MS, (p) =>
    say(`  waiting for the processor after ${what}: ${p.pending + p.ackPending} to go`),
  );
  say(`processor caught up after ${what} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** Stop the processor, let the gateway accept a backlog, start it again and time the drain. */
async function measureDrain(s: BenchStack, wrk: string): Promise<{ stopped: WrkResult; drain: Results["drain"] }> {
  say("drain: stopping the write-processor");
  await s.processor.stop();
  const stoppedAt = Date.now();
  const rowsBefore = await ledgerRows(s);
  say(
    `drain: building a backlog with wrk -t${WRK_THREADS} -c${CONCURRENCY} for ${SECONDS} s (this is also the gateway-alone rate)`,
  );
  const backlogCpu = meter(s);
  const stopped = await wrkWorkspaces(wrk, s.gateway.url, s, `back-${RUN}`);
  stopped.cpu = backlogCpu.stop();
  const backlog = (await progress(s)).streamMessages - rowsBefore;
  say(`drain: ${backlog} writes waiting (${stopped.acceptedPerSec.toFixed(0)} accepted/s); starting the processor`);
  const startedAt = Date.now();
  const cpu = meter(s);
  await s.processor.start(60_000);
  const doneAt = await waitDrained(s, DRAIN_LIMIT_MS, (p) => say(`  draining: ${p.pending + p.ackPending} to go`));
  const drainCpu = cpu.stop();
  // The first batch's transaction start: the moment applying began, without process start-up.
  const [first] = await s.sql<{ ms: number }[]>`
    SELECT (extract(epoch FROM min(completed_at)) * 1000)::float8 AS ms FROM write_operations
    WHERE completed_at >= to_timestamp(${stoppedAt / 1000})`;
  const seconds = (doneAt - (first?.ms ?? startedAt)) / 1000;
  const secondsFromStart = (doneAt - startedAt) / 1000;
  say(`drain: ${backlog} writes applied in ${seconds.toFixed(2)} s = ${(backlog / seconds).toFixed(0)} ops/s`);
  return {
    stopped,
    drain: {
      backlog,
      seconds,
      opsPerSec: backlog / seconds,
      secondsFromStart,
      opsPerSecFromStart: backlog / secondsFromStart,
      cpu: drainCpu,
    },
  };
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadAvgStart = loadavg();
  const wrk = ensureWrk();
  stack = await startStack();
  const s = stack;

  const limits = await measureLimits(s, wrk);

  say(`gateway: max accepted writes/s, wrk -t${WRK_THREADS} -c${CONCURRENCY} ${SECONDS} s, processor running`);
  const before = (await progress(s)).streamMessages;
  const maxCpu = meter(s);
  const fullSystem = await wrkWorkspaces(wrk, s.gateway.url, s, `max-${RUN}`);
  fullSystem.cpu = maxCpu.stop();
  const stored = (await progress(s)).streamMessages - before;
  say(
    `gateway: ${fullSystem.acceptedPerSec.toFixed(0)} accepted/s (${fullSystem.accepted} 202s, ${stored} stored, ${fullSystem.other} refused)`,
  );
  await settle(s, "the max-rate run");

  // Rounded so the printed rate is the rate actually sent.
  const half = Math.max(10, Math.round(fullSystem.acceptedPerSec / 2 / 10) * 10);
  const runAt = async (rate: number, label: string, followToCompletion = false) => {
    const cpu = meter(s);
    const { result, dueEpoch } = await fixedRate(s, {
      rate,
      seconds: SECONDS,
      label: `${label}-${RUN}`,
      followToCompletion,
    });
    result.cpu = cpu.stop();
    const a = result.acceptMs;
    say(
      `202 at ${rate}/s: p50 ${a.p50.toFixed(2)} ms, p99 ${a.p99.toFixed(2)} ms (${result.accepted}/${result.sent} accepted)`,
    );
    await settle(s, `the ${rate}/s ${label} run`);
    result.ledgerMs = await ledgerLatency(s, dueEpoch);
    say(
      `send → completed_at at ${rate}/s: p50 ${result.ledgerMs.p50.toFixed(1)} ms, p99 ${result.ledgerMs.p99.toFixed(1)} ms`,
    );
    return result;
  };
  const halfRun = await runAt(half, "half");
  const lowRun = await runAt(LOW_RATE, "low");
  const completion = await runAt(half, "done", true);
  const c = completion.completion;
  say(
    `write→completed at ${half}/s: p50 ${c?.longPollMs.p50.toFixed(1)} ms, p99 ${c?.longPollMs.p99.toFixed(1)} ms (client long-poll)`,
  );

  const { stopped, drain } = await measureDrain(s, wrk);

  const partial = {
    startedAt,
    settings: {
      concurrency: CONCURRENCY,
      wrkThreads: WRK_THREADS,
      seconds: SECONDS,
      lowRate: LOW_RATE,
      namespace: s.namespace,
    },
    limits,
    // wrk stops without reading the answers in flight, so up to one message per connection is
    // stored with no 202 counted; a 202 with no stored message would be a broken promise.
    gateway: {
      fullSystem,
      processorStopped: stopped,
      stored,
      storedCovers202: stored >= fullSystem.accepted && stored - fullSystem.accepted <= CONCURRENCY,
    },
    accept: { half: halfRun, low: lowRun },
    drain,
    completion,
  };
  const results: Results = {
    ...partial,
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, memoryGb: Math.round(totalmem() / 1024 ** 3), loadAvgStart, loadAvgEnd: loadavg() },
    targets: evaluateTargets(partial),
  };
  const files = writeResults(RESULTS_DIR, results);
  process.stdout.write(`\n${toMarkdown(results)}\n`);
  say(`results written to ${files.md} and ${files.json}`);
}

try {
  await main();
  finished = true;
} catch (err) {
  // After an abort, a phase failing because its child was killed is expected, not news.
  if (!aborted) say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await closeOnce();
}
