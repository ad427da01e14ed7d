import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureTopics as ensureTopicsWith, type TopicSpec } from "@a4c/shared";
import { Kafka, logLevel } from "kafkajs";
import { mavenClasspath } from "../lib/maven.ts";
import {
  aptInstall,
  assertPortFree,
  isAlive,
  portOpen,
  readPid,
  run,
  spawnDetached,
  stopPid,
  waitUntil,
} from "../lib/shell.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

/** Debian's JDK 17: Kafka 3.9 and Debezium Server 2.7 both run on it. */
export const JAVA17_HOME = "/usr/lib/jvm/java-17-openjdk-amd64";
export const JAVA17 = join(JAVA17_HOME, "bin", "java");

export function ensureJava17(): void {
  if (!existsSync(JAVA17)) aptInstall(["openjdk-17-jdk-headless"]);
}

export const KAFKA_VERSION = "3.9.1";
// Kafka's POM leaves the SLF4J backend to the distribution; reload4j is the one its tarball ships.
const KAFKA_ARTIFACTS = [`org.apache.kafka:kafka_2.13:${KAFKA_VERSION}`, "org.slf4j:slf4j-reload4j:1.7.36"];

export type { TopicSpec };

/** Debezium's `topic.prefix` for the project's own instances; topics are `<prefix>.<schema>.<table>`. */
export const CDC_TOPIC_PREFIX = "cdc";
const WEEK_MS = String(7 * 24 * 3_600_000);

/**
 * A change topic `<prefix>.public.<table>`. Debezium keys each event by the row's primary key, so
 * one row's changes stay in one partition, in order; 6 partitions let up to 6 consumers share it.
 */
export function cdcTopic(table: string, prefix = CDC_TOPIC_PREFIX): TopicSpec {
  return {
    name: `${prefix}.public.${table}`,
    partitions: 6,
    replicationFactor: 1,
    config: {
      "cleanup.policy": "delete",
      "retention.ms": WEEK_MS,
      "retention.bytes": String(1024 ** 3), // per partition
      "min.insync.replicas": "1",
    },
  };
}

/** The job change topic es-sync consumes (Debezium B writes it). */
export const cdcJobTopic = (prefix = CDC_TOPIC_PREFIX): TopicSpec => cdcTopic("job", prefix);

/**
 * Debezium sends its heartbeats through the sink like any change, to `__debezium-heartbeat.<prefix>`;
 * with topic auto-creation off it must exist or the Kafka sink blocks and fails.
 */
export function debeziumHeartbeatTopic(prefix = CDC_TOPIC_PREFIX): TopicSpec {
  return {
    name: `__debezium-heartbeat.${prefix}`,
    partitions: 1,
    replicationFactor: 1,
    config: { "cleanup.policy": "delete", "retention.ms": String(24 * 3_600_000) },
  };
}

export const CDC_JOB_TOPIC = cdcJobTopic();

function admin(brokers: string[]) {
  return new Kafka({
    clientId: "a4c-launcher",
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
    connectionTimeout: 3_000,
  }).admin();
}

/** The project's topic set, created or grown to spec (see ensureTopics in @a4c/shared). */
export async function ensureTopics(brokers: string[], topics: TopicSpec[]): Promise<void> {
  const a = admin(brokers);
  await a.connect();
  try {
    await ensureTopicsWith(a, topics, { growPartitions: true });
  } finally {
    await a.disconnect();
  }
}

export async function deleteTopics(brokers: string[], names: string[]): Promise<void> {
  const a = admin(brokers);
  await a.connect();
  try {
    await a.deleteTopics({ topics: names, timeout: 10_000 }).catch(() => {});
  } finally {
    await a.disconnect();
  }
}

/** A single-node Kafka (KRaft: the broker is its own controller) under `dir`, on loopback only. */
export class KafkaServer implements Component {
  readonly name = "kafka";

  constructor(
    readonly dir: string,
    readonly port = 59092,
    readonly controllerPort = 59093,
  ) {}

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  get #lib(): string {
    return join(this.dir, "lib");
  }
  get #pidFile(): string {
    return join(this.dir, "kafka.pid");
  }
  get #config(): string {
    return join(this.dir, "server.properties");
  }
  get dataDir(): string {
    return join(this.dir, "data");
  }
  /** Kafka's own log (log4j); the process's stdout/stderr (JVM errors) go to kafka.out. */
  get logFile(): string {
    return join(this.dir, "kafka.log");
  }

  install(): void {
    ensureJava17();
    mavenClasspath(KAFKA_ARTIFACTS, this.#lib, `kafka_2.13-${KAFKA_VERSION}.jar`);
  }

  #writeConfig(): void {
    const props = {
      "process.roles": "broker,controller",
      "node.id": "1",
      "controller.quorum.voters": `1@127.0.0.1:${this.controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      "advertised.listeners": `PLAINTEXT://127.0.0.1:${this.port}`,
      "controller.listener.names": "CONTROLLER",
      "inter.broker.listener.name": "PLAINTEXT",
      "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      "log.dirs": this.dataDir,
      // One node: every internal topic must accept a single replica, or consumer groups and
      // transactions never become available.
      "offsets.topic.replication.factor": "1",
      "offsets.topic.num.partitions": "10",
      "transaction.state.log.replication.factor": "1",
      "transaction.state.log.min.isr": "1",
      "transaction.state.log.num.partitions": "10",
      "default.replication.factor": "1",
      "min.insync.replicas": "1",
      "num.partitions": "1",
      // Topics are created explicitly (ensureTopics) with known partition counts; a typo must fail.
      "auto.create.topics.enable": "false",
      // A lone consumer should get its partitions at once, not after the default 3 s.
      "group.initial.rebalance.delay.ms": "0",
      // Bounded by default; topics may set tighter limits.
      "log.retention.hours": "168",
      "log.retention.bytes": String(1024 ** 3),
      "log.segment.bytes": String(64 * 1024 ** 2),
      "num.network.threads": "2",
      "num.io.threads": "4",
    };
    const text = Object.entries(props).map(([k, v]) => `${k}=${v}`);
    writeFileSync(this.#config, `${text.join("\n")}\n`);
    const log4j = [
      "log4j.rootLogger=INFO, file",
      "log4j.appender.file=org.apache.log4j.RollingFileAppender",
      `log4j.appender.file.File=${this.logFile}`,
      "log4j.appender.file.MaxFileSize=20MB",
      "log4j.appender.file.MaxBackupIndex=3",
      "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
      "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
      // The request logger and the log cleaner are chatty at INFO.
      "log4j.logger.kafka.request.logger=WARN",
      "log4j.logger.kafka.log.LogCleaner=WARN",
      "log4j.logger.state.change.logger=WARN",
    ];
    writeFileSync(join(this.dir, "log4j.properties"), `${log4j.join("\n")}\n`);
  }

  #java(mainClass: string, args: string[]): [string, string[]] {
    return [
      JAVA17,
      [
        "-Xmx512m",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        `-Dlog4j.configuration=file:${join(this.dir, "log4j.properties")}`,
        `-Dkafka.logs.dir=${this.dir}`,
        "-cp",
        `${this.#lib}/*`,
        mainClass,
        ...args,
      ],
    ];
  }

  /** KRaft storage is formatted once with a cluster id kept next to it. */
  #formatOnce(): void {
    if (existsSync(join(this.dataDir, "meta.properties"))) return;
    const idFile = join(this.dir, "cluster-id");
    // Kafka's Uuid is 16 random bytes in unpadded base64url: 22 characters.
    if (!existsSync(idFile)) writeFileSync(idFile, `${randomBytes(16).toString("base64url")}\n`);
    const clusterId = readFileSync(idFile, "utf8").trim();
    const [java, args] = this.#java("kafka.tools.StorageTool", [
      "format",
      "-t",
      clusterId,
      "-c",
      this.#config,
      "--ignore-formatted",
    ]);
    run(java, args, { cwd: this.dir });
  }

  async start(timeoutMs = 120_000): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.install();
    this.#writeConfig();
    if (!isAlive(readPid(this.#pidFile))) {
      await assertPortFree(this.port, "kafka");
      await assertPortFree(this.controllerPort, "kafka controller");
      this.#formatOnce();
      const [java, args] = this.#java("kafka.Kafka", [this.#config]);
      spawnDetached(java, args, { logFile: join(this.dir, "kafka.out"), pidFile: this.#pidFile, cwd: this.dir });
    }
    // waitUntil treats a throwing check as "not yet": note an exit and stop waiting instead.
    let exited = false;
    const check = async () => {
      exited = !isAlive(readPid(this.#pidFile));
      return exited || this.isReady();
    };
    await waitUntil(`kafka on ${this.port}`, check, timeoutMs);
    if (exited) throw new Error(`kafka exited during start-up; see ${this.logFile} and kafka.out`);
  }

  /** Ready = a client can fetch metadata (the controller elected itself and the broker registered). */
  async isReady(): Promise<boolean> {
    if (!(await portOpen(this.port))) return false;
    const a = admin(this.brokers);
    try {
      await a.connect();
      await a.listTopics();
      return true;
    } catch {
      return false;
    } finally {
      await a.disconnect().catch(() => {});
    }
  }

  /** SIGTERM runs Kafka's controlled shutdown (flushes and closes logs cleanly). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await stopPid(this.#pidFile, 60_000, signal);
  }

  async status(): Promise<ComponentStatus> {
    const pid = readPid(this.#pidFile);
    const running = isAlive(pid) && (await this.isReady().catch(() => false));
    return {
      running,
      pid,
      rssMb: rssMb(pid),
      detail: `127.0.0.1:${this.port} kafka ${KAFKA_VERSION} data=${this.dataDir}`,
    };
  }
}
