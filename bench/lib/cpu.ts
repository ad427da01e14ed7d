/**
 * Where the CPU went during a phase: on a 2-core machine the load generator, NATS, the three
 * services and PostgreSQL all compete, and a number means little without knowing who was busy.
 * Reads utime+stime from /proc (Linux only; elsewhere it reports nothing).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readPid, stack } from "../../infra/index.ts";
import type { BenchStack } from "./stack.ts";

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Bun runs on

function cpuSeconds(pid: number): number | null {
  try {
    // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

export type CpuShare = Record<string, number>;

/**
 * Samples named groups of pids now; `stop()` returns the cores each group used in between
 * (CPU seconds / wall seconds). Groups given as functions are re-resolved at stop, so short-lived
 * processes (PostgreSQL backends) that appeared meanwhile count from zero.
 */
export function cpuMeter(groups: Record<string, () => Array<number | null | undefined>>): { stop: () => CpuShare } {
  const started = performance.now();
  const before = new Map<number, number>();
  for (const get of Object.values(groups)) {
    for (const pid of get()) if (pid) before.set(pid, cpuSeconds(pid) ?? 0);
  }
  return {
    stop() {
      const wall = (performance.now() - started) / 1000;
      const share: CpuShare = {};
      for (const [name, get] of Object.entries(groups)) {
        let used = 0;
        for (const pid of get()) {
          if (!pid) continue;
          const now = cpuSeconds(pid);
          if (now !== null) used += now - (before.get(pid) ?? 0);
        }
        share[name] = Number((used / wall).toFixed(2));
      }
      return share;
    },
  };
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/**
 * PostgreSQL backends serving `database`: children of the postmaster whose title names it
 * ("postgres: a4c bench_… 127.0.0.1(…) idle"). Other databases on the shared server (tests
 * running meanwhile) are left out; so are the shared WAL writer and checkpointer.
 */
export function backendsOf(postmasterPid: number | null, database: string): number[] {
  if (!postmasterPid) return [];
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const pid = Number(entry);
      if (parentOf(pid) !== postmasterPid) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(` ${database} `)) out.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * A meter over the benchmark's processes: its three services, the launcher's NATS server, the
 * PostgreSQL backends of its database, the benchmark itself, plus any `extra` groups.
 */
export function meterStack(s: BenchStack, extra: Record<string, () => Array<number | null | undefined>> = {}) {
  // Where the launcher keeps its PostgreSQL and NATS, wherever that moves to.
  const { postgres, nats } = stack().infrastructure;
  const postmasterPid = readPid(join(postgres.dataDir, "postmaster.pid"));
  const natsPid = readPid(join(nats.dir, "nats.pid"));
  return cpuMeter({
    gateway: () => [s.gateway.pid],
    processor: () => [s.processor.pid],
    "read-api": () => [s.readApi.pid],
    nats: () => [natsPid],
    postgres: () => backendsOf(postmasterPid, s.database),
    bench: () => [process.pid],
    ...extra,
  });
}
