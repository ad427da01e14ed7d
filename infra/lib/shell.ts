import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Progress lines for people; services log JSON, the launcher talks plainly. */
export function say(message: string): void {
  process.stdout.write(`[a4c] ${message}\n`);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion. Throws with its output unless `allowFailure`. */
export function run(
  cmd: string,
  args: string[],
  opts: { asUser?: string; env?: Record<string, string>; allowFailure?: boolean; cwd?: string; input?: string } = {},
): RunResult {
  const [file, argv] = opts.asUser && isRoot ? ["runuser", ["-u", opts.asUser, "--", cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    encoding: "utf8",
    input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
  if (result.code !== 0 && !opts.allowFailure) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${result.code}:\n${result.stderr || result.stdout}`);
  }
  return result;
}

/** Starts a long-running process detached from this one, output appended to `logFile`. */
export function spawnDetached(
  cmd: string,
  args: string[],
  opts: { logFile: string; pidFile: string; env?: Record<string, string>; cwd?: string; asUser?: string },
): number {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, "a");
  const [file, argv] = opts.asUser && isRoot ? ["runuser", ["-u", opts.asUser, "--", cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
  });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${cmd}`);
  writeFileSync(opts.pidFile, `${child.pid}\n`);
  return child.pid;
}

export function readPid(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, "utf8").trim().split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isAlive(pid: number | null): pid is number {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); treat it as dead.
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Refuses to start on a port something else already serves: we would talk to a stranger. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  if (await portOpen(port)) {
    throw new Error(`port ${port} is already in use by a process that is not our ${what}; set its A4C_*_PORT variable`);
  }
}

/** Sends SIGTERM, waits, then SIGKILL. Only ever signals the pid we recorded. */
export async function stopPid(
  pidFile: string,
  timeoutMs = 15_000,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<boolean> {
  const pid = readPid(pidFile);
  if (!isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  process.kill(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  while (isAlive(pid)) await sleep(50);
  rmSync(pidFile, { force: true });
  return true;
}

/** The unprivileged account that runs servers refusing root (PostgreSQL, Elasticsearch). */
export const SERVICE_USER = "a4c";

export function ensureServiceUser(): string | undefined {
  if (!isRoot) return undefined;
  if (run("id", ["-u", SERVICE_USER], { allowFailure: true }).code !== 0) {
    say(`creating system user ${SERVICE_USER} (servers that refuse to run as root use it)`);
    run("useradd", ["--system", "--create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER]);
  }
  return SERVICE_USER;
}

/**
 * Where a server run as the service user keeps its data: `preferred` when that user can reach
 * it, else a folder under /var/lib/a4c named after it (a checkout under /root is not reachable).
 */
export function serviceUserDir(preferred: string): string {
  if (!isRoot) return preferred;
  ensureServiceUser();
  const parent = dirname(preferred);
  mkdirSync(parent, { recursive: true });
  if (run("runuser", ["-u", SERVICE_USER, "--", "test", "-x", parent], { allowFailure: true }).code === 0)
    return preferred;
  const hash = createHash("sha256").update(preferred).digest("hex").slice(0, 12);
  const fallback = join("/var/lib/a4c", hash);
  mkdirSync("/var/lib/a4c", { recursive: true, mode: 0o755 });
  return fallback;
}

export function chownToServiceUser(path: string): void {
  if (isRoot) run("chown", ["-R", `${SERVICE_USER}:${SERVICE_USER}`, path]);
}

/** The folder itself (not what is in it) to the service user: cheap at every start. */
export function ownByServiceUser(path: string): void {
  if (isRoot) run("chown", [`${SERVICE_USER}:${SERVICE_USER}`, path]);
}

let aptUpdated = false;

export interface AptOptions {
  /**
   * Packages that bring a daemon (docker.io, sshd, prometheus) would start it through the init
   * system, on its default ports; a policy-rc.d that says 101 forbids that while they install.
   */
  keepServicesStopped?: boolean;
  /** Runs once before anything is installed (only when something is missing). */
  preInstall?: () => void;
}

const POLICY_RC = "/usr/sbin/policy-rc.d";

/** Installs Debian packages that are missing. Needs root (or passwordless sudo). */
export function aptInstall(packages: string[], opts: AptOptions = {}): void {
  // dpkg-query's own format syntax, not a template literal.
  const statusFormat = "-f=$" + "{Status}";
  const missing = packages.filter(
    (p) => run("dpkg-query", ["-W", statusFormat, p], { allowFailure: true }).stdout !== "install ok installed",
  );
  if (missing.length === 0) return;
  const sudo = isRoot ? [] : ["sudo", "-n"];
  say(`installing Debian packages: ${missing.join(", ")}`);
  opts.preInstall?.();
  const guard = opts.keepServicesStopped && isRoot && !existsSync(POLICY_RC);
  if (guard) writeFileSync(POLICY_RC, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const exec = (args: string[]) => {
      const [cmd, ...rest] = [...sudo, ...args] as [string, ...string[]];
      run(cmd, rest, { env });
    };
    if (!aptUpdated) {
      exec(["apt-get", "update", "-qq"]);
      aptUpdated = true;
    }
    exec(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing]);
  } finally {
    if (guard) rmSync(POLICY_RC, { force: true });
  }
}
