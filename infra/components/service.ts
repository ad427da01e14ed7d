import { join } from "node:path";
import { assertPortFree, isAlive, readPid, spawnDetached, stopPid, waitUntil } from "../lib/shell.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

/** One of our own Bun services, run from source, with /health and /ready on `port`. */
export class ServiceProcess implements Component {
  constructor(
    readonly name: string,
    readonly root: string,
    readonly runDir: string,
    readonly logDir: string,
    readonly port: number,
    readonly env: Record<string, string>,
    /** What must exist before the process starts (e.g. the provisioner's SSH key). */
    private readonly beforeStart?: () => void,
  ) {}

  install(): void {}

  get pidFile(): string {
    return join(this.runDir, `${this.name}.pid`);
  }

  get logFile(): string {
    return join(this.logDir, `${this.name}.log`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | null {
    return readPid(this.pidFile);
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (!isAlive(this.pid)) {
      await assertPortFree(this.port, this.name);
      this.beforeStart?.();
      spawnDetached(process.execPath, [join(this.root, "packages", this.name, "src", "main.ts")], {
        logFile: this.logFile,
        pidFile: this.pidFile,
        env: this.env,
        cwd: this.root,
      });
    }
    await waitUntil(`${this.name} /ready on ${this.port}`, () => this.isReady(), timeoutMs);
  }

  async isReady(): Promise<boolean> {
    const r = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    return r?.status === 200;
  }

  async stop(): Promise<void> {
    await stopPid(this.pidFile, 20_000, "SIGTERM");
  }

  /** SIGKILL, as a crash or OOM kill would end it: no shutdown handlers run. */
  async kill(): Promise<void> {
    await stopPid(this.pidFile, 5_000, "SIGKILL");
  }

  async status(): Promise<ComponentStatus> {
    const pid = this.pid;
    const running = isAlive(pid) && (await this.isReady());
    return { running, pid, rssMb: rssMb(pid), detail: this.url };
  }
}
