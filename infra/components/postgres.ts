import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  aptInstall,
  assertPortFree,
  chownToServiceUser,
  ensureServiceUser,
  isAlive,
  run,
  serviceUserDir,
  waitUntil,
} from "../lib/shell.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

/** The newest PostgreSQL ≥ 15 whose server binaries Debian installed. */
export function postgresBinDir(): string | null {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .map(Number)
    .filter((v) => v >= 15 && existsSync(join(base, String(v), "bin", "initdb")))
    .sort((a, b) => b - a);
  return versions.length ? join(base, String(versions[0]), "bin") : null;
}

/**
 * A private PostgreSQL cluster in `dir`, listening on 127.0.0.1:`port` only, with logical
 * decoding on for Debezium. Tests create throwaway instances of this class to stop and start.
 */
export class PostgresServer implements Component {
  readonly name = "postgres";
  readonly #user: string | undefined;

  readonly dir: string;

  constructor(
    preferredDir: string,
    readonly port: number,
  ) {
    this.#user = ensureServiceUser();
    this.dir = serviceUserDir(preferredDir);
  }

  get dataDir(): string {
    return join(this.dir, "data");
  }

  install(): void {
    if (postgresBinDir()) return;
    aptInstall(["postgresql", "postgresql-contrib"], {
      preInstall: () => {
        // Do not let the package create and start a cluster of its own on 5432.
        mkdirSync("/etc/postgresql-common", { recursive: true });
        writeFileSync("/etc/postgresql-common/createcluster.conf", "create_main_cluster = false\n");
      },
    });
  }

  #bin(tool: string): string {
    const dir = postgresBinDir();
    if (!dir) throw new Error("PostgreSQL server binaries not found; run the launcher as root once to install them");
    return join(dir, tool);
  }

  #pgCtl(args: string[], allowFailure = false) {
    return run(this.#bin("pg_ctl"), ["-D", this.dataDir, ...args], { asUser: this.#user, allowFailure });
  }

  #initialise(): void {
    mkdirSync(this.dir, { recursive: true });
    chownToServiceUser(this.dir);
    run(this.#bin("initdb"), ["-D", this.dataDir, "-U", "a4c", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], {
      asUser: this.#user,
    });
    const conf = [
      `port = ${this.port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${this.dir}'`,
      "max_connections = 200",
      "shared_buffers = 256MB",
      "wal_level = logical",
      "max_wal_senders = 10",
      "max_replication_slots = 10",
      "max_slot_wal_keep_size = 2GB",
      "wal_keep_size = 256MB",
      "fsync = on",
      "synchronous_commit = on",
      "log_min_messages = warning",
      "log_line_prefix = '%m [%p] %q%u@%d '",
    ];
    writeFileSync(join(this.dataDir, "postgresql.auto.conf"), `${conf.join("\n")}\n`);
    writeFileSync(
      join(this.dataDir, "pg_hba.conf"),
      ["local all all trust", "host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust", ""].join(
        "\n",
      ),
    );
    chownToServiceUser(this.dir);
  }

  #pid(): number | null {
    const file = join(this.dataDir, "postmaster.pid");
    if (!existsSync(file)) return null;
    return Number(readFileSync(file, "utf8").split("\n")[0]) || null;
  }

  async start(): Promise<void> {
    this.install();
    if (!existsSync(join(this.dataDir, "PG_VERSION"))) this.#initialise();
    if (!isAlive(this.#pid())) {
      await assertPortFree(this.port, "postgres");
      this.#pgCtl(["-l", join(this.dir, "postgres.log"), "-w", "-t", "60", "start"]);
    }
    await waitUntil(`postgres on ${this.port}`, () => this.isReady(), 60_000);
  }

  isReady(): boolean {
    return (
      run(this.#bin("pg_isready"), ["-h", "127.0.0.1", "-p", String(this.port), "-q"], { allowFailure: true }).code ===
      0
    );
  }

  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    if (!isAlive(this.#pid())) return;
    this.#pgCtl(["-m", mode, "-w", "-t", "60", "stop"], true);
  }

  /** A client tool (psql, pg_dump, pg_restore) connected to this server as the superuser. */
  #client(tool: string, args: string[]) {
    return run(this.#bin(tool), ["-h", "127.0.0.1", "-p", String(this.port), "-U", "a4c", ...args]);
  }

  /** Runs SQL as the superuser against `db`. */
  psql(sql: string, db = "postgres"): string {
    return this.#client("psql", ["-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql]).stdout;
  }

  #exists(database: string): boolean {
    return this.psql(`SELECT 1 FROM pg_database WHERE datname = '${database.replace(/'/g, "")}'`).trim() === "1";
  }

  /**
   * A consistent backup of one database (pg_dump's custom format: one snapshot, compressed, read
   * by pg_restore), taken while it serves. Publications come with it; replication slots do not
   * (they belong to the server: the launcher makes them).
   */
  dump(database: string, file: string): void {
    this.#client("pg_dump", ["-Fc", "-f", file, database]);
  }

  /** Restores a backup into a new database `database`; refuses one that exists (nothing is overwritten). */
  restore(file: string, database: string): void {
    if (this.#exists(database)) {
      throw new Error(`database ${database} exists: restore into a new one (then point DATABASE_URL at it)`);
    }
    this.psql(`CREATE DATABASE "${database}"`);
    this.#client("pg_restore", ["--no-owner", "--exit-on-error", "-d", database, file]);
  }

  ensureDatabase(name: string, template?: string): void {
    if (!this.#exists(name)) this.psql(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ""}`);
  }

  async status(): Promise<ComponentStatus> {
    const pid = this.#pid();
    const running = isAlive(pid) && this.isReady();
    return { running, pid, rssMb: rssMb(pid), detail: `127.0.0.1:${this.port} data=${this.dataDir}` };
  }
}
