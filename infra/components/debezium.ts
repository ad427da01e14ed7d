import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSql, ensureStream, jetstreamManager, replicationSlotLag, type Sql } from "@a4c/shared";
import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { mavenCopy } from "../lib/maven.ts";
import { assertPortFree, isAlive, readPid, run, say, spawnDetached, stopPid, waitUntil } from "../lib/shell.ts";
import {
  CDC_TOPIC_PREFIX,
  cdcTopic,
  debeziumHeartbeatTopic,
  ensureJava17,
  ensureTopics,
  JAVA17,
  JAVA17_HOME,
} from "./kafka.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

// 2.7.4.Final is not on Maven Central; 2.7.3 is the newest 2.x there (3.x needs Java 21, and
// 3.2.0's NATS sink publishes every event twice).
export const DEBEZIUM_VERSION = "2.7.3.Final";

/** Publications made by migration 0003; Debezium never creates or alters them. */
export const CDC_PUBLICATION = "a4c_cdc";
export const CDC_JOB_PUBLICATION = "a4c_cdc_job";
// write_operations: the read-api wakes status waiters and invalidates cached statuses from its rows (0004).
export const CDC_TABLES = ["users", "workspace", "job", "write_operations"] as const;
/** The stream the NATS-sink instance publishes into (the name the sink itself would use). */
export const DEBEZIUM_STREAM = "DebeziumStream";

export type DebeziumSink =
  | { type: "nats-jetstream"; url: string; stream: string; maxAgeMs?: number; maxBytes?: number }
  | { type: "kafka"; brokers: string[] };

export interface DebeziumOptions {
  name: string;
  /** This instance's own files: conf/, data/offsets.dat, logs, pid. */
  dir: string;
  /** Where the distribution is unpacked once; shared by every instance. */
  distDir: string;
  /** Quarkus HTTP port: /q/health. */
  httpPort: number;
  postgresPort: number;
  database: string;
  slot: string;
  publication: string;
  tables: readonly string[];
  /** Debezium's topic.prefix: events go to `<prefix>.public.<table>`. */
  topicPrefix?: string;
  /** `no_data` streams changes from the slot on; `initial` first emits every existing row once. */
  snapshotMode?: "initial" | "no_data";
  heartbeatMs?: number;
  sink: DebeziumSink;
}

/**
 * Debezium Server exits when its engine fails, and the engine fails for outages it could ride out:
 * the NATS sink connects with noReconnect(), so any NATS restart ends it on the next event ("Connection
 * is Closed"); a Kafka outage longer than the producer's delivery timeout ends B. Offsets are only
 * committed after the sink acknowledged, so starting again resumes without loss: this loop does that,
 * with a backoff (1 s doubling to 60 s, reset after a run of a minute). SIGTERM is passed on to the JVM
 * and awaited, so a stop still flushes offsets.
 */
const SUPERVISOR = `#!/bin/bash
child=
trap 'trap - TERM INT; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child"; rm -f debezium.jvm.pid; exit 0' TERM INT
delay=1
while :; do
  started=$(date +%s)
  "$@" &
  child=$!
  echo "$child" > debezium.jvm.pid
  wait "$child"
  code=$?
  child=
  [ $(( $(date +%s) - started )) -ge 60 ] && delay=1
  echo "[supervisor] $(date -Is) debezium exited with code $code; starting again in $delay s"
  sleep "$delay" & wait $!
  delay=$(( delay * 2 > 60 ? 60 : delay * 2 ))
done
`;

/** Unpacks the Debezium Server tarball once into `distDir`; returns the folder holding run.sh. */
export function installDebeziumDist(distDir: string): string {
  const home = join(distDir, `debezium-server-${DEBEZIUM_VERSION}`);
  if (existsSync(join(home, "run.sh"))) return home;
  ensureJava17();
  const tarball = mavenCopy(
    `io.debezium:debezium-server-dist:${DEBEZIUM_VERSION}:tar.gz`,
    join(distDir, "download"),
    `debezium-server-dist-${DEBEZIUM_VERSION}.tar.gz`,
  );
  // Unpack beside, then rename: a half-extracted folder is never mistaken for a complete one.
  const tmp = `${home}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", tmp]);
  if (!existsSync(home)) renameSync(join(tmp, "debezium-server"), home);
  rmSync(tmp, { recursive: true, force: true });
  // ~/.m2 keeps the archive (≈450 MB); the copy here is no longer needed.
  rmSync(join(distDir, "download"), { recursive: true, force: true });
  return home;
}

/**
 * One Debezium Server (PostgreSQL → NATS JetStream or Kafka) running from the shared distribution
 * with its own configuration, offsets, replication slot and HTTP port.
 */
export class DebeziumServer implements Component {
  readonly name: string;

  constructor(readonly opts: DebeziumOptions) {
    this.name = opts.name;
  }

  get dir(): string {
    return this.opts.dir;
  }
  get topicPrefix(): string {
    return this.opts.topicPrefix ?? CDC_TOPIC_PREFIX;
  }
  /** The supervisor shell's pid; the JVM's is in debezium.jvm.pid. */
  get #pidFile(): string {
    return join(this.dir, "debezium.pid");
  }
  get #jvmPidFile(): string {
    return join(this.dir, "debezium.jvm.pid");
  }
  get logFile(): string {
    return join(this.dir, "debezium.log");
  }
  get offsetsFile(): string {
    return join(this.dir, "data", "offsets.dat");
  }
  /** The JVM's pid, only if that process still is this instance's Debezium (pids get reused). */
  get pid(): number | null {
    const pid = readPid(this.#jvmPidFile);
    if (!isAlive(pid)) return null;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return cmdline.includes("io.debezium.server.Main") && cmdline.includes(join(this.dir, "conf")) ? pid : null;
    } catch {
      return null;
    }
  }
  /** The subject (NATS) or topic (Kafka) where changes of `table` arrive. */
  destination(table: string): string {
    return `${this.topicPrefix}.public.${table}`;
  }
  get heartbeatDestination(): string {
    return `__debezium-heartbeat.${this.topicPrefix}`;
  }

  install(): void {
    installDebeziumDist(this.opts.distDir);
  }

  async #withSql<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = createSql(`postgres://a4c@127.0.0.1:${this.opts.postgresPort}/${this.opts.database}`, {
      max: 1,
      application: `a4c-${this.name}`,
    });
    try {
      return await fn(sql);
    } finally {
      await sql.end({ timeout: 2 });
    }
  }

  /**
   * What this instance reads and writes, made if missing: its replication slot and its stream or
   * topics. Idempotent; run by start(), and by the launcher's `prepare` (the compose init step)
   * where Debezium runs elsewhere.
   */
  async prepare(): Promise<void> {
    await this.#prepareSource(false);
    await this.#prepareSink();
  }

  /**
   * The publication must exist (migration 0003); the slot is made here, before Debezium reads it.
   * A slot whose WAL is lost is made again only by the instance itself (`ownOffsets`): the offsets
   * it discards with it are its own files.
   */
  async #prepareSource(ownOffsets: boolean): Promise<void> {
    const { slot, publication, tables, database } = this.opts;
    await this.#withSql(async (sql) => {
      const published = new Set(
        (
          await sql<{ tablename: string }[]>`
          SELECT tablename FROM pg_publication_tables WHERE pubname = ${publication} AND schemaname = 'public'`
        ).map((r) => r.tablename),
      );
      const missing = tables.filter((t) => !published.has(t));
      if (missing.length) {
        throw new Error(
          `publication ${publication} in ${database} lacks ${missing.join(", ")}; apply the migrations (0003) first`,
        );
      }
      let [existing] = await sql<{ database: string; plugin: string; wal_status: string | null }[]>`
        SELECT database, plugin, wal_status FROM pg_replication_slots WHERE slot_name = ${slot}`;
      if (existing?.wal_status === "lost") {
        if (!ownOffsets) return; // the instance's own start starts it over
        // Down so long that max_slot_wal_keep_size released its WAL: the slot can never resume.
        // Start over: a new slot and no offsets (B re-snapshots; A's consumers see a gap).
        say(`${this.name}: replication slot ${slot} lost its WAL; recreating it and discarding offsets`);
        await sql`SELECT pg_drop_replication_slot(${slot})`;
        rmSync(this.offsetsFile, { force: true });
        existing = undefined;
      }
      if (existing && (existing.database !== database || existing.plugin !== "pgoutput")) {
        throw new Error(`replication slot ${slot} belongs to ${existing.database}/${existing.plugin}, not ${database}`);
      }
      if (!existing) {
        await sql`SELECT pg_create_logical_replication_slot(${slot}, 'pgoutput')`.catch((err: { code?: string }) => {
          if (err.code !== "42710") throw err; // created concurrently by another starter
        });
      }
    });
  }

  /** The sink never creates what it writes to: we do, with limits (JetStream) or partitions (Kafka). */
  async #prepareSink(): Promise<void> {
    const sink = this.opts.sink;
    if (sink.type === "kafka") {
      const topics = this.opts.tables.map((t) => cdcTopic(t, this.topicPrefix));
      await ensureTopics(sink.brokers, [...topics, debeziumHeartbeatTopic(this.topicPrefix)]);
      return;
    }
    const nc = await connect({ servers: sink.url.split(","), timeout: 5_000 });
    try {
      await ensureStream(await jetstreamManager(nc), {
        name: sink.stream,
        // Heartbeats must land somewhere too: a publish no stream captures fails and stops Debezium.
        subjects: [...this.opts.tables.map((t) => this.destination(t)), this.heartbeatDestination],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        // Full means drop the oldest: refusing would stall Debezium and grow the WAL instead.
        // A consumer that falls that far behind sees a gap and flushes (ARCHITECTURE §6, CDC).
        discard: DiscardPolicy.Old,
        max_age: nanos(sink.maxAgeMs ?? 7 * 24 * 3_600_000),
        max_bytes: sink.maxBytes ?? 1024 ** 3,
        num_replicas: 1,
        allow_direct: true,
      });
    } finally {
      await nc.close();
    }
  }

  #properties(): string {
    const o = this.opts;
    const p: Record<string, string | number> = {
      "debezium.source.connector.class": "io.debezium.connector.postgresql.PostgresConnector",
      "debezium.source.plugin.name": "pgoutput",
      "debezium.source.database.hostname": "127.0.0.1",
      "debezium.source.database.port": o.postgresPort,
      "debezium.source.database.user": "a4c",
      // Trust authentication: the server never asks; the connector just wants the key present.
      "debezium.source.database.password": "unused",
      "debezium.source.database.dbname": o.database,
      "debezium.source.topic.prefix": this.topicPrefix,
      "debezium.source.slot.name": o.slot,
      "debezium.source.publication.name": o.publication,
      "debezium.source.publication.autocreate.mode": "disabled",
      "debezium.source.table.include.list": o.tables.map((t) => `public.${t}`).join(","),
      // Only a hash, but no consumer needs it and it has no business in a broker.
      "debezium.source.column.exclude.list": "public.users.token_hash",
      "debezium.source.snapshot.mode": o.snapshotMode ?? "no_data",
      // Heartbeats move the slot forward when only unpublished tables change, and tell consumers
      // the feed is alive.
      "debezium.source.heartbeat.interval.ms": o.heartbeatMs ?? 5_000,
      // ...but a heartbeat alone confirms no LSN while this database is idle, so other databases'
      // writes pile up behind the slot (seen: 700 MB in minutes). Writing a logical message into
      // this database's WAL with each heartbeat lets the slot advance; the message itself is
      // dropped by prefix, so no consumer ever sees it.
      "debezium.source.heartbeat.action.query": "SELECT pg_logical_emit_message(false, 'a4c-heartbeat', now()::text)",
      "debezium.source.message.prefix.exclude.list": "a4c-heartbeat",
      // The default 500 ms is pure latency between the WAL and the sink.
      "debezium.source.poll.interval.ms": 50,
      // A delete is one event with `before`; no extra null-valued tombstone (the NATS sink drops them).
      "debezium.source.tombstones.on.delete": "false",
      "debezium.source.offset.storage.file.filename": this.offsetsFile,
      // Offsets (and so the LSN confirmed to PostgreSQL) are flushed each second: a restart
      // re-sends at most about a second of events, never skips any.
      "debezium.source.offset.flush.interval.ms": 1_000,
      "debezium.format.key": "json",
      "debezium.format.value": "json",
      "debezium.format.key.schemas.enable": "false",
      "debezium.format.value.schemas.enable": "false",
      "quarkus.http.host": "127.0.0.1",
      "quarkus.http.port": o.httpPort,
      "quarkus.log.level": "INFO",
      "quarkus.log.console.enable": "false",
      "quarkus.log.file.enable": "true",
      "quarkus.log.file.path": this.logFile,
      "quarkus.log.file.rotation.max-file-size": "20M",
      "quarkus.log.file.rotation.max-backup-index": 3,
      // Warns about every information_schema domain type at each start: noise.
      'quarkus.log.category."io.debezium.connector.postgresql.TypeRegistry".level': "ERROR",
    };
    if (o.sink.type === "kafka") {
      const k = "debezium.sink.kafka.producer.";
      Object.assign(p, {
        "debezium.sink.type": "kafka",
        [`${k}bootstrap.servers`]: o.sink.brokers.join(","),
        [`${k}key.serializer`]: "org.apache.kafka.common.serialization.StringSerializer",
        [`${k}value.serializer`]: "org.apache.kafka.common.serialization.StringSerializer",
        [`${k}acks`]: "all",
        [`${k}enable.idempotence`]: "true",
        [`${k}linger.ms`]: 0,
      });
    } else {
      Object.assign(p, {
        "debezium.sink.type": "nats-jetstream",
        "debezium.sink.nats-jetstream.url": o.sink.url,
        "debezium.sink.nats-jetstream.create-stream": "false",
      });
    }
    return `${Object.entries(p)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\n`;
  }

  async start(timeoutMs = 120_000): Promise<void> {
    const home = installDebeziumDist(this.opts.distDir);
    mkdirSync(join(this.dir, "conf"), { recursive: true });
    mkdirSync(join(this.dir, "data"), { recursive: true });
    await this.#prepareSource(true);
    await this.#prepareSink();
    writeFileSync(join(this.dir, "conf", "application.properties"), this.#properties());
    if (!isAlive(readPid(this.#pidFile))) {
      // A JVM orphaned by a killed supervisor would hold the port: stop it first.
      await stopPid(this.#jvmPidFile, 30_000);
      await assertPortFree(this.opts.httpPort, this.name);
      // The classpath run.sh builds (runner jar, conf, lib/*), with this instance's conf/ in place
      // of the distribution's, run under a supervisor that restarts it (see SUPERVISOR).
      const classpath = [
        join(home, `debezium-server-dist-${DEBEZIUM_VERSION}-runner.jar`),
        join(this.dir, "conf"),
        join(home, "lib", "*"),
      ].join(":");
      const javaOpts = ["-Xmx384m", "-Xms64m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"];
      writeFileSync(join(this.dir, "supervise.sh"), SUPERVISOR);
      spawnDetached(
        "bash",
        [join(this.dir, "supervise.sh"), JAVA17, ...javaOpts, "-cp", classpath, "io.debezium.server.Main"],
        {
          logFile: join(this.dir, "debezium.out"),
          pidFile: this.#pidFile,
          cwd: this.dir,
          env: { JAVA_HOME: JAVA17_HOME },
        },
      );
    }
    // waitUntil treats a throwing check as "not yet": note a supervisor exit and stop waiting.
    // (A JVM that keeps failing is restarted by the supervisor: that shows as a timeout.)
    let exited = false;
    const check = async () => {
      exited = !isAlive(readPid(this.#pidFile));
      return exited || this.isReady();
    };
    await waitUntil(`${this.name} /q/health on ${this.opts.httpPort}`, check, timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}; see ${this.logFile}\n${this.#logTail()}`);
    });
    if (exited) throw new Error(`${this.name} supervisor exited; see ${this.dir}/debezium.out\n${this.#logTail()}`);
  }

  /** UP once the engine runs (for `initial`, possibly before its snapshot has ended). */
  async isReady(): Promise<boolean> {
    const r = await fetch(`http://127.0.0.1:${this.opts.httpPort}/q/health`, {
      signal: AbortSignal.timeout(2_000),
    }).catch(() => null);
    if (!r?.ok) return false;
    return ((await r.json()) as { status?: string }).status === "UP";
  }

  #logTail(): string {
    for (const f of [this.logFile, join(this.dir, "debezium.out")]) {
      if (existsSync(f)) {
        const lines = readFileSync(f, "utf8").trim().split("\n");
        const errors = lines.filter((l) => /ERROR|Exception/.test(l)).slice(-5);
        if (errors.length) return errors.join("\n");
      }
    }
    return "";
  }

  /**
   * SIGTERM: the supervisor passes it on, Debezium stops the engine and flushes its offsets.
   * SIGKILL (a crash): the supervisor dies at once, so its JVM is killed by pid as well.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await stopPid(this.#pidFile, 40_000, signal);
    if (this.pid) await stopPid(this.#jvmPidFile, 30_000, signal);
  }

  /** WAL bytes the slot still holds for this instance (how far behind it is), and its wal_status. */
  slot(): Promise<{ lagBytes: number; walStatus: string } | null> {
    return this.#withSql(async (sql) => {
      const mine = (await replicationSlotLag(sql)).find((s) => s.slot === this.opts.slot);
      return mine ? { lagBytes: mine.lagBytes, walStatus: mine.walStatus ?? "" } : null;
    });
  }

  /** Removes the slot (the instance must be stopped): only for throwaway instances. */
  async dropSlot(): Promise<void> {
    await this.#withSql(
      (sql) => sql`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                   WHERE slot_name = ${this.opts.slot} AND NOT active`,
    );
  }

  async status(): Promise<ComponentStatus> {
    const pid = this.pid;
    const running = pid !== null && (await this.isReady().catch(() => false));
    const slot = await this.slot().catch(() => null);
    const lag = slot ? `lag=${slot.lagBytes}B wal=${slot.walStatus}` : "slot=?";
    const sink = this.opts.sink.type === "kafka" ? "kafka" : `nats stream ${this.opts.sink.stream}`;
    return {
      running,
      pid,
      rssMb: rssMb(pid),
      detail: `:${this.opts.httpPort} ${this.opts.database} slot ${this.opts.slot} ${lag} → ${sink}`,
    };
  }
}

interface PresetArgs {
  dir: string;
  distDir: string;
  postgresPort: number;
  database?: string;
  httpPort?: number;
  topicPrefix?: string;
  slot?: string;
  snapshotMode?: DebeziumOptions["snapshotMode"];
}

type PresetDefaults = Pick<DebeziumOptions, "name" | "httpPort" | "slot" | "publication" | "tables" | "snapshotMode">;

function preset(a: PresetArgs, d: PresetDefaults, sink: DebeziumSink): DebeziumServer {
  const { dir, distDir, postgresPort, topicPrefix } = a;
  const [database, httpPort, slot] = [a.database ?? "a4c", a.httpPort ?? d.httpPort, a.slot ?? d.slot];
  const snapshotMode = a.snapshotMode ?? d.snapshotMode;
  return new DebeziumServer({
    ...d,
    dir,
    distDir,
    postgresPort,
    database,
    httpPort,
    slot,
    topicPrefix,
    snapshotMode,
    sink,
  });
}

/**
 * Debezium A: users, workspace and job changes → JetStream (cache invalidation). `no_data`: an
 * invalidation feed needs no history, and a consumer that starts fresh flushes its cache anyway.
 */
export function debeziumToNats(a: PresetArgs & { natsUrl: string; stream?: string }): DebeziumServer {
  return preset(
    a,
    {
      name: "debezium-nats",
      httpPort: 58081,
      slot: "a4c_cdc_nats",
      publication: CDC_PUBLICATION,
      tables: CDC_TABLES,
      snapshotMode: "no_data",
    },
    { type: "nats-jetstream", url: a.natsUrl, stream: a.stream ?? DEBEZIUM_STREAM },
  );
}

/**
 * Debezium B: job changes → Kafka (search projection). `initial`: on its very first start it emits
 * every existing job once, so the index starts complete; later starts resume from the offsets.
 */
export function debeziumToKafka(a: PresetArgs & { brokers: string[] }): DebeziumServer {
  return preset(
    a,
    {
      name: "debezium-kafka",
      httpPort: 58082,
      slot: "a4c_cdc_kafka",
      publication: CDC_JOB_PUBLICATION,
      tables: ["job"],
      snapshotMode: "initial",
    },
    { type: "kafka", brokers: a.brokers },
  );
}
