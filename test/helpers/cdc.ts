/**
 * Reading Debezium change events in tests: collectors that keep consuming a JetStream subject or a
 * Kafka topic in the background, and a bounded wait for what a test expects to have arrived.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kafka, logLevel } from "kafkajs";
import { type DebeziumServer, debeziumToNats } from "../../infra/components/debezium.ts";
import { LOCAL, PORTS } from "../../infra/lib/paths.ts";
import { sleep } from "../../infra/lib/shell.ts";
import { freePort } from "./ports.ts";

/** A Debezium change event as the JSON converter writes it with schemas disabled. */
export interface ChangeEvent {
  op: "c" | "u" | "d" | "r";
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: { lsn: number; txId: number; table: string; db: string; snapshot: string; ts_ms: number };
  ts_ms: number;
}

export interface Received {
  event: ChangeEvent;
  key?: string;
  partition?: number;
  subject?: string;
}

export interface Collector {
  readonly received: Received[];
  /** Resolves once `done(received)` holds; throws after `timeoutMs` saying what did arrive. */
  waitFor(what: string, done: (r: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function collector(stop: () => Promise<void>): Collector {
  const received: Received[] = [];
  return {
    received,
    async waitFor(what, done, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(received)) {
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${received.length} events received`);
        }
        await sleep(50);
      }
    },
    stop,
  };
}

/** An ordered (ephemeral, flow-controlled) consumer of `subject` from the start of `stream`. */
export async function collectJetStream(nc: NatsConnection, stream: string, subject: string): Promise<Collector> {
  // A single subject as a string: Debian's NATS 2.9 knows filter_subject, not filter_subjects.
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: subject });
  const messages = await consumer.consume();
  const c = collector(async () => {
    await messages.close().catch(() => {});
  });
  (async () => {
    for await (const m of messages) c.received.push({ event: m.json<ChangeEvent>(), subject: m.subject });
  })().catch(() => {});
  return c;
}

/** A consumer group member reading `topic` from the beginning. */
export async function collectKafka(brokers: string[], topic: string, groupId: string): Promise<Collector> {
  const kafka = new Kafka({ clientId: `a4c-test-${groupId}`, brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const c = collector(async () => {
    await consumer.disconnect().catch(() => {});
  });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      if (!message.value) return;
      c.received.push({
        event: JSON.parse(message.value.toString()) as ChangeEvent,
        key: message.key?.toString(),
        partition,
      });
    },
  });
  return c;
}

/** The events about one row, in arrival order. */
export function eventsFor(received: Received[], id: string): Received[] {
  return received.filter((r) => (r.event.after?.id ?? r.event.before?.id) === id);
}

/**
 * A private Debezium A (→ JetStream) on a test's own database, with its own slot, topic prefix,
 * stream and folder, so a test can stop it without disturbing the launcher's instance.
 */
export interface PrivateFeed {
  stream: string;
  prefix: string;
  debezium: DebeziumServer;
  /** Stops the instance and removes its slot, stream and files. */
  remove(): Promise<void>;
}

export function privateFeedNames(label: string): { run: string; stream: string; prefix: string } {
  const run = randomBytes(4).toString("hex");
  const tag = label.replace(/[^a-z0-9]/g, "");
  return { run, stream: `CDC${tag}${run}`.toUpperCase(), prefix: `cdc${tag}${run}` };
}

export async function startPrivateFeed(
  names: { run: string; stream: string; prefix: string },
  database: string,
  natsUrl: string,
): Promise<PrivateFeed> {
  const dir = join(LOCAL, "test", `feed-${names.prefix}`);
  const debezium = debeziumToNats({
    dir,
    distDir: join(LOCAL, "debezium", "dist"),
    postgresPort: PORTS.postgres,
    database,
    httpPort: await freePort(),
    topicPrefix: names.prefix,
    slot: `a4c_cdc_t_${names.run}`,
    natsUrl,
    stream: names.stream,
  });
  const remove = async () => {
    await debezium.stop().catch(() => {});
    await debezium.dropSlot().catch(() => {});
    const nc = await connect({ servers: natsUrl });
    await (await jetstreamManager(nc)).streams.delete(names.stream).catch(() => {});
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await debezium.start(180_000);
  } catch (err) {
    await remove();
    throw err;
  }
  return { ...names, debezium, remove };
}
