/**
 * Turns one run's measurements into the markdown table people read and the JSON machines read.
 * Every result sits beside the limit it is judged against, measured in the same run, because
 * on a shared 2-core machine absolute numbers move from run to run while the ratios hold.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RawPublishResult } from "./jetstream.ts";
import type { FixedRateResult } from "./load.ts";
import { fmt, type Percentiles, round } from "./stats.ts";
import type { PgbenchResult, WrkResult } from "./tools.ts";

export interface Results {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; memoryGb: number; loadAvgStart: number[]; loadAvgEnd: number[] };
  settings: { concurrency: number; wrkThreads: number; seconds: number; lowRate: number; namespace: string };
  limits: {
    jetstream: RawPublishResult;
    jetstreamGatewayLike: RawPublishResult;
    pgbench: PgbenchResult[];
    baseline: WrkResult;
  };
  gateway: { fullSystem: WrkResult; processorStopped: WrkResult; stored: number; storedCovers202: boolean };
  accept: { half: FixedRateResult; low: FixedRateResult };
  drain: {
    backlog: number;
    seconds: number;
    opsPerSec: number;
    secondsFromStart: number;
    opsPerSecFromStart: number;
    cpu: Record<string, number>;
  };
  completion: FixedRateResult;
  targets: Target[];
}

export interface Target {
  name: string;
  value: number;
  limit: number;
  pass: boolean;
  rule: string;
}

const ms = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : "n/a");
const pair = (p?: Percentiles) => (p ? `${ms(p.p50)} / ${ms(p.p99)}` : "n/a");
const verdict = (pass: boolean) => (pass ? "**pass**" : "**miss**");

export function bestPgbench(r: Pick<Results, "limits">): PgbenchResult {
  return r.limits.pgbench.reduce((a, b) => (b.tps > a.tps ? b : a));
}

/** The four targets of issue 2, each computed from numbers of this run only. */
export function evaluateTargets(r: Omit<Results, "targets" | "finishedAt" | "machine">): Target[] {
  const js = r.limits.jetstream.perSec;
  const pgb = bestPgbench(r).tps;
  return [
    {
      name: "accepted writes/s ≥ 50% of raw JetStream publish-with-ack",
      value: r.gateway.fullSystem.acceptedPerSec,
      limit: js,
      pass: r.gateway.fullSystem.acceptedPerSec >= 0.5 * js,
      rule: "≥ 0.5 × limit",
    },
    {
      name: "202 p99 < 10 ms at half the accepted rate",
      value: r.accept.half.acceptMs.p99,
      limit: 10,
      pass: r.accept.half.acceptMs.p99 < 10,
      rule: "< 10 ms",
    },
    {
      name: "processor drain ≥ 2× pgbench one-tx-per-write",
      value: r.drain.opsPerSec,
      limit: pgb,
      pass: r.drain.opsPerSec >= 2 * pgb,
      rule: "≥ 2 × limit",
    },
    {
      name: "write→completed p99 < 100 ms at half the accepted rate",
      value: r.completion.completion?.longPollMs.p99 ?? Number.NaN,
      limit: 100,
      pass: (r.completion.completion?.longPollMs.p99 ?? Number.POSITIVE_INFINITY) < 100,
      rule: "< 100 ms",
    },
  ];
}

export function toMarkdown(r: Results): string {
  const js = r.limits.jetstream;
  const gw = r.limits.jetstreamGatewayLike;
  const pgb = bestPgbench(r);
  const c = r.settings.concurrency;
  const [tAccept, t202, tDrain, tDone] = r.targets as [Target, Target, Target, Target];
  const full = r.gateway.fullSystem;
  const stopped = r.gateway.processorStopped;
  const done = r.completion.completion;
  const pct = (a: number, b: number) => `${Math.round((100 * a) / b)}%`;
  const lines = [
    `# A4C write path benchmark — ${r.startedAt}`,
    "",
    `Machine: ${r.machine.cpus} CPUs, ${r.machine.memoryGb} GB; load average ${r.machine.loadAvgStart.map((l) => l.toFixed(2)).join(" ")} at start, ` +
      `${r.machine.loadAvgEnd.map((l) => l.toFixed(2)).join(" ")} at the end (other work on the machine makes numbers noisy; the ratios are what counts).`,
    `Load: wrk -t${r.settings.wrkThreads} -c${c} for ${r.settings.seconds} s; fixed-rate runs ${r.settings.seconds} s each; every write is a new workspace create with a unique Idempotency-Key.`,
    "",
    "## Results beside the limits measured in this run",
    "",
    "| measure | result | limit (same run) | ratio | target | verdict |",
    "|---|---|---|---|---|---|",
    `| accepted writes/s, whole system (processor applying meanwhile) | ${fmt(full.acceptedPerSec)}/s | raw JetStream publish-with-ack, ${c} in flight: ${fmt(js.perSec)}/s | ${pct(full.acceptedPerSec, js.perSec)} | ${tAccept.rule} | ${verdict(tAccept.pass)} |`,
    `| accepted writes/s, processor stopped (gateway alone) | ${fmt(stopped.acceptedPerSec)}/s | same | ${pct(stopped.acceptedPerSec, js.perSec)} | (information) | ${stopped.acceptedPerSec >= 0.5 * js.perSec ? "≥ 50%" : "< 50%"} |`,
    `| 202 latency p50 / p99 at ${fmt(r.accept.half.rate)}/s (50% of accepted max) | ${ms(r.accept.half.acceptMs.p50)} / ${ms(r.accept.half.acceptMs.p99)} | JetStream ack p50 / p99 at ${c} in flight: ${ms(js.latencyMs.p50)} / ${ms(js.latencyMs.p99)} | — | p99 ${t202.rule} | ${verdict(t202.pass)} |`,
    `| 202 latency p50 / p99 at ${fmt(r.accept.low.rate)}/s | ${ms(r.accept.low.acceptMs.p50)} / ${ms(r.accept.low.acceptMs.p99)} | — | — | (information) | — |`,
    `| processor drain of a ${fmt(r.drain.backlog)}-write backlog | ${fmt(r.drain.opsPerSec)} ops/s | pgbench one tx per write, best (-c ${pgb.clients}): ${fmt(pgb.tps)} tps | ${(r.drain.opsPerSec / pgb.tps).toFixed(1)}× | ${tDrain.rule} | ${verdict(tDrain.pass)} |`,
    `| write→completed p50 / p99 at ${fmt(r.completion.rate)}/s, client long-poll of GET /status?wait=10 | ${ms(done?.longPollMs.p50 ?? Number.NaN)} / ${ms(done?.longPollMs.p99 ?? Number.NaN)} | — | — | p99 ${tDone.rule} | ${verdict(tDone.pass)} |`,
    `| same writes, send → write_operations.completed_at (lower bound) | ${pair(r.completion.ledgerMs)} | — | — | (information) | — |`,
    `| send → completed_at at ${fmt(r.accept.half.rate)}/s with no client reading (the 50% run) | ${pair(r.accept.half.ledgerMs)} | — | — | (information) | — |`,
    `| baseline: direct HTTP→PostgreSQL, one tx per request (wrk -c${c}) | ${fmt(r.limits.baseline.acceptedPerSec)}/s | gateway accepted ${fmt(full.acceptedPerSec)}/s | gateway ${(full.acceptedPerSec / r.limits.baseline.acceptedPerSec).toFixed(1)}× | (information) | — |`,
    "",
    "## Machine limits (same run)",
    "",
    "| limit | value | detail |",
    "|---|---|---|",
    `| raw JetStream publish-with-ack (file stream, ${js.payloadBytes} B payload, one subject per message) | ${fmt(js.perSec)}/s | ${js.concurrency} in flight, ${js.seconds.toFixed(1)} s, ${fmt(js.published)} acked, ${js.failed} failed, ack p50 ${ms(js.latencyMs.p50)} p99 ${ms(js.latencyMs.p99)} |`,
    `| JetStream publish as the gateway does it (+ msgID, expect no message on the subject, 1 header) | ${fmt(gw.perSec)}/s | ${gw.concurrency} in flight, ${gw.seconds.toFixed(1)} s, ${gw.failed} failed, ack p50 ${ms(gw.latencyMs.p50)} p99 ${ms(gw.latencyMs.p99)}; gateway alone reached ${pct(stopped.acceptedPerSec, gw.perSec)} of it |`,
    ...r.limits.pgbench.map(
      (p) =>
        `| pgbench, workspace-create transaction (3 inserts, autocommit), -c ${p.clients} -j ${p.threads} | ${fmt(p.tps)} tps | ${p.seconds} s, latency avg ${ms(p.latencyAvgMs)}, pgbench itself used ${p.clientCores.toFixed(2)} cores |`,
    ),
    `| baseline server (bench/baseline-server.ts: Bun.serve + postgres.js, pool ${c}) | ${fmt(r.limits.baseline.acceptedPerSec)}/s | wrk -c${c}: p50 ${ms(r.limits.baseline.p50Ms)} p99 ${ms(r.limits.baseline.p99Ms)}, ${r.limits.baseline.other} non-2xx, ${r.limits.baseline.socketErrors} socket errors |`,
    "",
    "## Details",
    "",
    "| run | accepted / sent | refused | 202 p50 / p99 (from due time) | 202 p99 (from actual send) | generator lateness p99 | send → completed_at p50 / p99 |",
    "|---|---|---|---|---|---|---|",
    ...[
      ["50% of max", r.accept.half],
      [`${r.accept.low.rate}/s`, r.accept.low],
      ["to completion", r.completion],
    ].map(([name, f]) => {
      const x = f as FixedRateResult;
      return `| ${name} at ${fmt(x.rate)}/s | ${fmt(x.accepted)} / ${fmt(x.sent)} | ${JSON.stringify(x.refused)} | ${pair(x.acceptMs)} | ${ms(x.serviceMs.p99)} | ${ms(x.sendLagMs.p99)} | ${pair(x.ledgerMs)} |`;
    }),
    "",
    `- wrk, whole system: ${fmt(full.accepted)} accepted, ${full.other} refused, ${full.socketErrors} socket errors, closed-loop p50 ${ms(full.p50Ms)} p99 ${ms(full.p99Ms)}; ` +
      `${fmt(r.gateway.stored)} messages stored (≥ 202s, by at most the ${c} requests in flight when wrk stopped): ${r.gateway.storedCovers202 ? "consistent" : "INCONSISTENT"}.`,
    `- wrk, processor stopped: ${fmt(stopped.accepted)} accepted, ${stopped.other} refused; this is the drain backlog.`,
    `- drain: ${fmt(r.drain.backlog)} writes in ${r.drain.seconds.toFixed(2)} s from the first batch's transaction to the last ack; ` +
      `${r.drain.secondsFromStart.toFixed(2)} s (${fmt(r.drain.opsPerSecFromStart)} ops/s) counting the processor's start-up.`,
    `- write→completed: ${done ? `${done.failed} failed, ${done.notCompleted} not completed within the limit` : "n/a"}. ` +
      "Long-poll latency includes the read-api's completion poll interval (A4C_WAIT_POLL_MS, 25 ms by default); completed_at is when the committing transaction began.",
    "",
    "## CPU cores used per phase",
    "",
    "Cores = CPU seconds / wall seconds, from /proc. postgres counts only the backends of the bench database.",
    "",
    ...cpuTable([
      ["baseline server under wrk", r.limits.baseline.cpu, r.limits.baseline.clientCores],
      ["gateway max, processor running", full.cpu, full.clientCores],
      ["gateway max, processor stopped", stopped.cpu, stopped.clientCores],
      [`202 at ${fmt(r.accept.half.rate)}/s`, r.accept.half.cpu, 0],
      [`202 at ${fmt(r.accept.low.rate)}/s`, r.accept.low.cpu, 0],
      [`to completion at ${fmt(r.completion.rate)}/s`, r.completion.cpu, 0],
      ["processor drain", r.drain.cpu, 0],
    ]),
    "",
  ];
  return lines.join("\n");
}

function cpuTable(rows: Array<[string, Record<string, number> | undefined, number]>): string[] {
  const names = [...new Set(rows.flatMap(([, cpu]) => Object.keys(cpu ?? {})))];
  return [
    `| phase | ${names.join(" | ")} | wrk |`,
    `|---|${names.map(() => "---|").join("")}---|`,
    ...rows.map(
      ([phase, cpu, wrk]) =>
        `| ${phase} | ${names.map((n) => (cpu?.[n] ?? 0).toFixed(2)).join(" | ")} | ${wrk.toFixed(2)} |`,
    ),
  ];
}

export function writeResults(dir: string, r: Results): { md: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const md = join(dir, "latest.md");
  const json = join(dir, "latest.json");
  writeFileSync(md, toMarkdown(r));
  writeFileSync(json, `${JSON.stringify(r, (_k, v) => (typeof v === "number" ? round(v, 3) : v), 2)}\n`);
  return { md, json };
}
