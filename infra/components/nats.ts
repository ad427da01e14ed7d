import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  aptInstall,
  assertPortFree,
  isAlive,
  portOpen,
  readPid,
  spawnDetached,
  stopPid,
  waitUntil,
} from "../lib/shell.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

const NATS_BIN = "/usr/sbin/nats-server";

/** A private NATS server with file-backed JetStream under `dir`. */
export class NatsServer implements Component {
  readonly name = "nats";

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly monitorPort: number,
  ) {}

  install(): void {
    aptInstall(["nats-server"]);
  }

  get #pidFile(): string {
    return join(this.dir, "nats.pid");
  }

  async start(): Promise<void> {
    this.install();
    mkdirSync(join(this.dir, "jetstream"), { recursive: true });
    const conf = join(this.dir, "nats.conf");
    writeFileSync(
      conf,
      [
        `listen: "127.0.0.1:${this.port}"`,
        `http: "127.0.0.1:${this.monitorPort}"`,
        `server_name: "a4c-${this.port}"`,
        "max_payload: 1MB",
        "jetstream {",
        `  store_dir: "${join(this.dir, "jetstream")}"`,
        "  max_file_store: 20GB",
        "  max_memory_store: 512MB",
        "}",
        "",
      ].join("\n"),
    );
    if (!isAlive(readPid(this.#pidFile))) {
      await assertPortFree(this.port, "nats");
      spawnDetached(NATS_BIN, ["-c", conf], { logFile: join(this.dir, "nats.log"), pidFile: this.#pidFile });
    }
    await waitUntil(`nats on ${this.port}`, () => this.isReady(), 30_000);
  }

  async isReady(): Promise<boolean> {
    if (!(await portOpen(this.port))) return false;
    const r = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz?js-enabled-only=true`).catch(() => null);
    return r?.ok ?? false;
  }

  /** SIGTERM lets NATS flush JetStream; `kill` sends SIGKILL, as a crash would. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await stopPid(this.#pidFile, 15_000, signal);
  }

  async status(): Promise<ComponentStatus> {
    const pid = readPid(this.#pidFile);
    const running = isAlive(pid) && (await this.isReady());
    return { running, pid, rssMb: rssMb(pid), detail: `nats://127.0.0.1:${this.port} store=${this.dir}/jetstream` };
  }
}
