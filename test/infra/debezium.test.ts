/**
 * Debezium Server A (→ JetStream) and B (→ Kafka) capture job changes with their after-image and
 * LSN, and a restart loses nothing written while they were down.
 *
 * Isolation: a database of its own (cloned from the migrated template, so it has the 0003
 * publications) and a private pair of Debezium instances on it, with their own slots, topic prefix,
 * stream and Kafka topic. The launcher's `a4c` database and its instances never see test rows, and
 * the restart test can stop "its" Debezium without disturbing anyone. Everything is removed after.
 * Kafka and NATS are the shared ones (started here if needed, left running).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createSql, jetstreamManager, type Sql } from "@a4c/shared";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type DebeziumServer, debeziumToKafka, debeziumToNats } from "../../infra/components/debezium.ts";
import { deleteTopics, KafkaServer } from "../../infra/components/kafka.ts";
import { PostgresServer } from "../../infra/components/postgres.ts";
import { LOCAL, PORTS } from "../../infra/lib/paths.ts";
import { type Collector, collectJetStream, collectKafka, eventsFor } from "../helpers/cdc.ts";
import { freePort } from "../helpers/ports.ts";

const run = randomBytes(4).toString("hex");
const prefix = `cdct${run}`;
const database = `cdc_${run}`;
const dir = join(LOCAL, "test", `cdc-${run}`);
const natsUrl = process.env.NATS_URL ?? `nats://127.0.0.1:${PORTS.nats}`;
const stream = `CDCT${run}_DEBEZIUM`.toUpperCase();
const postgres = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
const kafka = new KafkaServer(join(LOCAL, "kafka"));

let sql: Sql;
let nc: NatsConnection;
let toNats: DebeziumServer;
let toKafka: DebeziumServer;
let fromNats: Collector;
let fromKafka: Collector;

async function timedStart(c: DebeziumServer | KafkaServer): Promise<void> {
  const started = performance.now();
  await c.start();
  const st = await c.status();
  console.log(`${c.name} ready in ${Math.round(performance.now() - started)} ms, rss ${st.rssMb} MiB`);
}

beforeAll(async () => {
  postgres.ensureDatabase(database, process.env.A4C_TEST_TEMPLATE_DB ?? "a4c_test_template");
  sql = createSql(`postgres://a4c@127.0.0.1:${PORTS.postgres}/${database}`, { max: 2, application: "a4c-test" });
  nc = await connect({ servers: natsUrl });
  const common = {
    distDir: join(LOCAL, "debezium", "dist"),
    postgresPort: PORTS.postgres,
    database,
    topicPrefix: prefix,
  };
  toNats = debeziumToNats({
    ...common,
    dir: join(dir, "nats"),
    httpPort: await freePort(),
    slot: `a4c_cdc_nats_${run}`,
    natsUrl,
    stream,
  });
  toKafka = debeziumToKafka({
    ...common,
    dir: join(dir, "kafka"),
    httpPort: await freePort(),
    slot: `a4c_cdc_kafka_${run}`,
    brokers: kafka.brokers,
  });
  await timedStart(kafka);
  // One after the other: on two cores, two JVMs starting at once take as long as in sequence.
  await timedStart(toNats);
  await timedStart(toKafka);
  fromNats = await collectJetStream(nc, stream, toNats.destination("job"));
  fromKafka = await collectKafka(kafka.brokers, toKafka.destination("job"), `cdct-${run}`);
  await untilStreaming();
}, 400_000);

afterAll(async () => {
  await fromNats?.stop();
  await fromKafka?.stop();
  for (const d of [toNats, toKafka]) {
    if (!d) continue;
    await d.stop();
    await d.dropSlot().catch(() => {});
  }
  await sql?.end({ timeout: 2 });
  const jsm = nc ? await jetstreamManager(nc) : null;
  await jsm?.streams.delete(stream).catch(() => {});
  await nc?.close();
  await deleteTopics(kafka.brokers, [toKafka.destination("job"), toKafka.heartbeatDestination]).catch(() => {});
  postgres.psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

/** A user and a workspace for jobs to belong to. */
async function owner(): Promise<{ userId: string; workspaceId: string }> {
  const userId = randomUUID();
  const workspaceId = randomUUID();
  await sql`INSERT INTO users (id, name, email, token_hash)
            VALUES (${userId}, 'CDC test', ${`${userId}@example.com`}, ${Buffer.from(randomBytes(32))})`;
  await sql`INSERT INTO workspace (id, user_id, project_name, image, status)
            VALUES (${workspaceId}, ${userId}, ${`p-${userId.slice(0, 8)}`}, 'a4c/base:latest', 'CREATING')`;
  return { userId, workspaceId };
}

async function insertJob(o: { userId: string; workspaceId: string }): Promise<string> {
  const id = randomUUID();
  await sql`INSERT INTO job (id, type, status, user_id, workspace_id, operation_id)
            VALUES (${id}, 'WORKSPACE_CREATE', 'SCHEDULED', ${o.userId}, ${o.workspaceId}, ${`op-${id}`})`;
  return id;
}

/**
 * /q/health is UP once the engine runs, which for B is before its initial snapshot ends: a row
 * written then arrives as a snapshot read ("r"), not an insert. Write rows until one arrives as
 * an insert on both sinks: from then on both are streaming from their slots.
 */
async function untilStreaming(): Promise<void> {
  const o = await owner();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const id = await insertJob(o);
    const inserted = (r: Parameters<typeof eventsFor>[0]) => eventsFor(r, id).some((e) => e.event.op === "c");
    try {
      await Promise.all([
        fromNats.waitFor("a warm-up insert on JetStream", inserted, 5_000),
        fromKafka.waitFor("a warm-up insert on Kafka", inserted, 5_000),
      ]);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

const hasAll = (ids: string[]) => (r: { event: { after: Record<string, unknown> | null } }[]) => {
  const seen = new Set(r.map((x) => x.event.after?.id));
  return ids.every((id) => seen.has(id));
};

describe("debezium", () => {
  test("an INSERT and an UPDATE of a job arrive on JetStream and on Kafka with after-image and LSN", async () => {
    const o = await owner();
    const started = performance.now();
    const jobId = await insertJob(o);
    await sql`UPDATE job SET status = 'IN_PROGRESS', step = 'container_create', version = version + 1, updated_at = now()
              WHERE id = ${jobId}`;
    const both = (r: Parameters<typeof eventsFor>[0]) => eventsFor(r, jobId).length >= 2;
    await Promise.all([
      fromNats.waitFor(`job ${jobId} create+update on JetStream`, both, 60_000),
      fromKafka.waitFor(`job ${jobId} create+update on Kafka`, both, 60_000),
    ]);
    console.log(`insert + update → both sinks in ${Math.round(performance.now() - started)} ms`);
    for (const received of [fromNats.received, fromKafka.received]) {
      const [created, updated] = eventsFor(received, jobId);
      expect(created?.event.op).toBe("c");
      expect(created?.event.after).toMatchObject({
        id: jobId,
        type: "WORKSPACE_CREATE",
        status: "SCHEDULED",
        user_id: o.userId,
        workspace_id: o.workspaceId,
        version: 1,
      });
      expect(updated?.event.op).toBe("u");
      expect(updated?.event.after).toMatchObject({
        id: jobId,
        status: "IN_PROGRESS",
        step: "container_create",
        version: 2,
      });
      expect(updated?.event.source.table).toBe("job");
      expect(updated?.event.source.db).toBe(database);
      expect(typeof created?.event.source.lsn).toBe("number");
      expect(updated?.event.source.lsn).toBeGreaterThan(created?.event.source.lsn ?? Number.MAX_VALUE);
    }
    // Exactly once each while nothing restarts (Debezium 3.2.0's NATS sink published twice).
    await Bun.sleep(1_000);
    expect(eventsFor(fromNats.received, jobId).map((e) => e.event.op)).toEqual(["c", "u"]);
    expect(eventsFor(fromKafka.received, jobId).map((e) => e.event.op)).toEqual(["c", "u"]);
    const [natsCreated] = eventsFor(fromNats.received, jobId);
    expect(natsCreated?.subject).toBe(`${prefix}.public.job`);
    // Kafka: keyed by primary key, so both events of the job sit in one partition, in order.
    const kafkaEvents = eventsFor(fromKafka.received, jobId);
    expect(JSON.parse(kafkaEvents[0]?.key ?? "{}")).toEqual({ id: jobId });
    expect(new Set(kafkaEvents.map((e) => e.partition)).size).toBe(1);
  }, 90_000);

  test("A also carries users and workspace changes, without the token hash", async () => {
    const users = await collectJetStream(nc, stream, toNats.destination("users"));
    try {
      const o = await owner();
      await users.waitFor(`user ${o.userId}`, (r) => eventsFor(r, o.userId).length > 0, 60_000);
      const [created] = eventsFor(users.received, o.userId);
      expect(created?.event.after).toMatchObject({ id: o.userId, name: "CDC test", version: 1 });
      expect(created?.event.after).not.toHaveProperty("token_hash");
    } finally {
      await users.stop();
    }
  }, 90_000);

  test("a restart of both instances loses no change written while they were down", async () => {
    const o = await owner();
    const before = [await insertJob(o), await insertJob(o)];
    await Promise.all([
      fromNats.waitFor("jobs before the stop on JetStream", hasAll(before), 60_000),
      fromKafka.waitFor("jobs before the stop on Kafka", hasAll(before), 60_000),
    ]);
    await Promise.all([toNats.stop(), toKafka.stop()]);
    expect((await toNats.status()).running).toBe(false);
    const during: string[] = [];
    for (let i = 0; i < 20; i++) during.push(await insertJob(o));
    await sql`UPDATE job SET version = version + 1, status = 'IN_PROGRESS', updated_at = now() WHERE id = ${during[0] ?? ""}`;
    expect((await toKafka.slot())?.lagBytes).toBeGreaterThan(0);
    await timedStart(toNats);
    await timedStart(toKafka);
    const after = [await insertJob(o)];
    const all = [...before, ...during, ...after];
    await Promise.all([
      fromNats.waitFor("every job on JetStream after the restart", hasAll(all), 90_000),
      fromKafka.waitFor("every job on Kafka after the restart", hasAll(all), 90_000),
    ]);
    for (const received of [fromNats.received, fromKafka.received]) {
      const updated = eventsFor(received, during[0] ?? "").find((e) => e.event.op === "u");
      expect(updated?.event.after).toMatchObject({ status: "IN_PROGRESS", version: 2 });
    }
  }, 300_000);
});
