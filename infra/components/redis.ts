import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { aptInstall, assertPortFree, isAlive, readPid, run, stopPid, waitUntil } from "../lib/shell.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

/** A private Redis: a cache only, so it keeps nothing on disk. */
export class RedisServer implements Component {
  readonly name = "redis";

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  install(): void {
    aptInstall(["redis-server", "redis-tools"]);
  }

  get #pidFile(): string {
    return join(this.dir, "redis.pid");
  }

  async start(): Promise<void> {
    this.install();
    mkdirSync(this.dir, { recursive: true });
    if (!isAlive(readPid(this.#pidFile))) {
      await assertPortFree(this.port, "redis");
      run("redis-server", [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--daemonize",
        "yes",
        "--pidfile",
        this.#pidFile,
        "--logfile",
        join(this.dir, "redis.log"),
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory",
        "512mb",
        "--maxmemory-policy",
        "allkeys-lru",
      ]);
    }
    await waitUntil(`redis on ${this.port}`, () => this.isReady(), 20_000);
  }

  isReady(): boolean {
    return run("redis-cli", ["-p", String(this.port), "ping"], { allowFailure: true }).stdout.trim() === "PONG";
  }

  async stop(): Promise<void> {
    await stopPid(this.#pidFile);
  }

  async status(): Promise<ComponentStatus> {
    const pid = readPid(this.#pidFile);
    return {
      running: isAlive(pid) && this.isReady(),
      pid,
      rssMb: rssMb(pid),
      detail: `redis://127.0.0.1:${this.port}`,
    };
  }
}
