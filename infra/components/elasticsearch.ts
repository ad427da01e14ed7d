import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mavenCopy } from "../lib/maven.ts";
import {
  aptInstall,
  assertPortFree,
  chownToServiceUser,
  ensureServiceUser,
  isAlive,
  ownByServiceUser,
  readPid,
  run,
  serviceUserDir,
  sleep,
  spawnDetached,
  stopPid,
} from "../lib/shell.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

/**
 * The integ-test zip: the server with only the modules it cannot start without (no bundled JDK,
 * no painless/reindex/analysis-common/ingest-common/ml), published to Maven Central.
 * docker-compose must name the same version (docker.elastic.co/elasticsearch/elasticsearch:8.19.21).
 */
export const ES_VERSION = "8.19.21";
const ARTIFACT = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip`;

export const ES_DEFAULT_HTTP_PORT = 59200;
export const ES_DEFAULT_TRANSPORT_PORT = 59300;

/** 8.19 still runs on 17, whose SecurityManager it uses; JDKs without one (24+) need the entitlement agent. */
function javaHome(): string {
  const fromEnv = process.env.A4C_ES_JAVA_HOME;
  if (fromEnv) return fromEnv;
  const base = "/usr/lib/jvm";
  const jdk = existsSync(base) ? readdirSync(base).find((d) => /^java-17-openjdk-[a-z0-9]+$/.test(d)) : undefined;
  if (!jdk)
    throw new Error("JDK 17 not found under /usr/lib/jvm; install openjdk-17-jre-headless or set A4C_ES_JAVA_HOME");
  return join(base, jdk);
}

export interface ElasticsearchOptions {
  transportPort?: number;
  /** Heap for -Xms/-Xmx; 512m is plenty for a dev node and leaves room for the rest of the stack. */
  heap?: string;
  startTimeoutMs?: number;
  /**
   * An installed distribution to run from instead of one under `dir` (a test's private node reuses
   * the launcher's). The home is only read: config, data, logs and tmp stay under `dir`.
   */
  home?: string;
}

/**
 * A private single-node Elasticsearch under `dir`, on 127.0.0.1 only, security off. It refuses to
 * run as root, so it runs as the service user, which owns config, data, logs and tmp.
 */
export class ElasticsearchServer implements Component {
  readonly name = "elasticsearch";
  readonly dir: string;
  readonly transportPort: number;
  readonly #user: string | undefined;
  readonly #heap: string;
  readonly #startTimeoutMs: number;
  readonly #home: string | undefined;

  constructor(
    preferredDir: string,
    readonly port = ES_DEFAULT_HTTP_PORT,
    opts: ElasticsearchOptions = {},
  ) {
    this.#user = ensureServiceUser();
    this.dir = serviceUserDir(preferredDir);
    this.transportPort = opts.transportPort ?? ES_DEFAULT_TRANSPORT_PORT;
    this.#heap = opts.heap ?? "512m";
    this.#startTimeoutMs = opts.startTimeoutMs ?? 180_000;
    this.#home = opts.home;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get home(): string {
    return this.#home ?? join(this.dir, `elasticsearch-${ES_VERSION}`);
  }

  get #confDir(): string {
    return join(this.dir, "config");
  }
  get #logsDir(): string {
    return join(this.dir, "logs");
  }
  /** Written by the server JVM itself (`-p`, as the service user), so it names the process that owns the ports. */
  get #pidFile(): string {
    return join(this.dir, "run", "elasticsearch.pid");
  }
  /** The launcher (runuser → CLI JVM) that daemonises the server and exits once it is up. */
  get #launcherPidFile(): string {
    return join(this.dir, "run", "launcher.pid");
  }
  get #launcherLog(): string {
    return join(this.#logsDir, "launcher.log");
  }

  install(): void {
    const packages = ["unzip"];
    try {
      javaHome();
    } catch {
      packages.push("openjdk-17-jre-headless");
    }
    aptInstall(packages);
    if (existsSync(join(this.home, "bin", "elasticsearch"))) return;
    const zip = mavenCopy(ARTIFACT, join(this.dir, "dist"), `elasticsearch-${ES_VERSION}.zip`);
    // Unzip aside, then rename: an interrupted unzip must not look like an installed home.
    // `unzip` (unlike most JS unzippers) keeps the exec bits of bin/.
    const staging = join(this.dir, ".unzip");
    rmSync(staging, { recursive: true, force: true });
    run("unzip", ["-q", zip, "-d", staging]);
    renameSync(join(staging, `elasticsearch-${ES_VERSION}`), this.home);
    rmSync(staging, { recursive: true, force: true });
  }

  /** The pid in `file` if it is alive and runs from our home: a stale file may name a recycled pid. */
  #ourPid(file: string): number | null {
    const pid = readPid(file);
    if (!isAlive(pid)) return null;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(this.home) ? pid : null;
    } catch {
      return null;
    }
  }

  #serverPid(): number | null {
    return this.#ourPid(this.#pidFile);
  }

  /** Config lives outside the home (ES_PATH_CONF) so a version bump keeps data and settings. */
  #writeConfig(): void {
    for (const d of [
      this.#confDir,
      join(this.dir, "data"),
      this.#logsDir,
      join(this.dir, "tmp"),
      join(this.dir, "run"),
    ]) {
      if (!existsSync(d)) {
        mkdirSync(d, { recursive: true });
        chownToServiceUser(d);
      } else {
        // A folder made by someone else (a container volume, a restored backup) must be ours too.
        ownByServiceUser(d);
      }
    }
    if (!existsSync(join(this.#confDir, "log4j2.properties")))
      cpSync(join(this.home, "config"), this.#confDir, { recursive: true });
    const yml = [
      "cluster.name: a4c",
      `node.name: a4c-es-${this.port}`,
      "discovery.type: single-node",
      "network.host: 127.0.0.1",
      `http.port: ${this.port}`,
      `transport.port: ${this.transportPort}`,
      `path.data: ${join(this.dir, "data")}`,
      `path.logs: ${this.#logsDir}`,
      "xpack.security.enabled: false",
      // Dev machines run with full-ish disks: the default 85/90/95 % watermarks would make every
      // index read-only on a big disk with plenty of room left. Absolute free-space floors still
      // stop ES from filling the disk to the last byte.
      "cluster.routing.allocation.disk.watermark.low: 2gb",
      "cluster.routing.allocation.disk.watermark.high: 1gb",
      "cluster.routing.allocation.disk.watermark.flood_stage: 512mb",
      // A write to a missing index (e.g. the `jobs` alias before it exists) must fail, not
      // auto-create an index with dynamic mappings that would then squat the alias name.
      "action.auto_create_index: false",
      "",
    ];
    writeFileSync(join(this.#confDir, "elasticsearch.yml"), yml.join("\n"));
    // The stock jvm.options writes GC logs and crash files into the working directory and keeps
    // up to 2 GB of GC logs; keep them in logs/ and small.
    const jvm = readFileSync(join(this.home, "config", "jvm.options"), "utf8")
      .replace("file=gc.log", `file=${join(this.#logsDir, "gc.log")}`)
      .replace("filecount=32,filesize=64m", "filecount=4,filesize=16m")
      .replace("-XX:ErrorFile=hs_err_pid%p.log", `-XX:ErrorFile=${join(this.#logsDir, "hs_err_pid%p.log")}`)
      .replace("-XX:+HeapDumpOnOutOfMemoryError", `-XX:+HeapDumpOnOutOfMemoryError\n-XX:HeapDumpPath=${this.#logsDir}`);
    writeFileSync(join(this.#confDir, "jvm.options"), jvm);
    // The CLI creates its keystore in the config folder on first start, as the service user.
    chownToServiceUser(this.#confDir);
  }

  async start(): Promise<void> {
    this.install();
    if (this.#serverPid() === null) {
      await assertPortFree(this.port, "elasticsearch (http)");
      await assertPortFree(this.transportPort, "elasticsearch (transport)");
      this.#writeConfig();
      rmSync(this.#pidFile, { force: true });
      // The launcher log holds only this launch, so a failure's tail is not an older run's.
      writeFileSync(this.#launcherLog, "");
      // `-d -p`: the CLI starts the server, relays its output until it has started, then exits, so
      // only the server JVM stays (its pid, written by itself, is what we stop and measure).
      spawnDetached(join(this.home, "bin", "elasticsearch"), ["-d", "-p", this.#pidFile], {
        logFile: this.#launcherLog,
        pidFile: this.#launcherPidFile,
        cwd: this.#logsDir,
        asUser: this.#user,
        env: {
          ES_JAVA_HOME: javaHome(),
          ES_JAVA_OPTS: `-Xms${this.#heap} -Xmx${this.#heap}`,
          ES_PATH_CONF: this.#confDir,
          ES_TMPDIR: join(this.dir, "tmp"),
        },
      });
    }
    await this.#waitReady();
  }

  /**
   * Waits for yellow/green health, failing early with the log's tail if the launcher gave up: no
   * launcher and no server for 10 s in a row (on a loaded machine the launcher can be gone, or not
   * yet seen, well before the server has written its pid file; one look a second later was seen
   * to fail a healthy restart).
   */
  async #waitReady(): Promise<void> {
    const deadline = Date.now() + this.#startTimeoutMs;
    let neitherSince: number | null = null;
    for (;;) {
      if (await this.isReady()) return;
      if (this.#ourPid(this.#launcherPidFile) === null && this.#serverPid() === null) {
        neitherSince ??= Date.now();
        if (Date.now() - neitherSince > 10_000) {
          throw new Error(`elasticsearch did not start:\n${this.#logTail()}`);
        }
      } else neitherSince = null;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${this.#startTimeoutMs} ms waiting for elasticsearch:\n${this.#logTail()}`);
      await sleep(500);
    }
  }

  #logTail(lines = 30): string {
    const tails: string[] = [];
    for (const f of [this.#launcherLog, join(this.#logsDir, "a4c.log")]) {
      if (existsSync(f)) tails.push(`--- ${f}\n${readFileSync(f, "utf8").split("\n").slice(-lines).join("\n")}`);
    }
    return tails.join("\n");
  }

  async isReady(): Promise<boolean> {
    try {
      const r = await fetch(`${this.url}/_cluster/health`, { signal: AbortSignal.timeout(2000) });
      if (!r.ok) return false;
      const { status } = (await r.json()) as { status?: string };
      return status === "green" || status === "yellow";
    } catch {
      return false;
    }
  }

  /** The version the node reports, or null when it does not answer. (`GET /` is absent in this build.) */
  async version(): Promise<string | null> {
    try {
      const r = await fetch(`${this.url}/_nodes/_local?filter_path=nodes.*.version`, {
        signal: AbortSignal.timeout(2000),
      });
      const { nodes } = (await r.json()) as { nodes?: Record<string, { version?: string }> };
      return Object.values(nodes ?? {})[0]?.version ?? null;
    } catch {
      return null;
    }
  }

  /** SIGTERM lets the node flush and close shards; SIGKILL is a crash, for fault tests. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (this.#serverPid() !== null) await stopPid(this.#pidFile, 60_000, signal);
    else rmSync(this.#pidFile, { force: true });
    // A launcher still waiting for a server that is gone would otherwise linger.
    if (this.#ourPid(this.#launcherPidFile) !== null) await stopPid(this.#launcherPidFile, 10_000);
    else rmSync(this.#launcherPidFile, { force: true });
  }

  async status(): Promise<ComponentStatus> {
    const pid = this.#serverPid();
    const running = pid !== null && (await this.isReady());
    return {
      running,
      pid,
      rssMb: rssMb(pid),
      detail: `${this.url} (Elasticsearch ${ES_VERSION}) data=${join(this.dir, "data")}`,
    };
  }
}
