/**
 * The DLQ (`<builds topic>.dlq`): messages that cannot become a build request — not JSON, not an
 * object, or refused by the gateway (4xx) — kept with their original key and bytes and headers
 * saying why and where they came from. Listing shows the entries not replayed yet; a replay
 * publishes the refused ones to the builds topic again (after the cause was fixed: a token, a
 * gateway limit), where they are new messages with new Idempotency-Keys; a commit's build is still
 * made once, since the gateway derives the build from repository + commit. The replay bookmark is
 * the committed offset of a group that never runs as a member (`<group>.dlq-replay`).
 */
import { randomBytes } from "node:crypto";
import { endOffsets, groupStartOffsets, type Logger, type Offsets, setGroupOffsets, withAdmin } from "@a4c/shared";
import type { Kafka, KafkaMessage, Producer } from "kafkajs";
import { type DeadLetter, DLQ_HEADER, deadLetterHeaders, headerText, isReplayable } from "./decide.ts";
import type { CiTopics } from "./topics.ts";

export interface DlqEntry {
  partition: number;
  offset: string;
  code: string | null;
  reason: string | null;
  status: number | null;
  source: { topic: string | null; partition: number | null; offset: string | null };
  deadLetteredAt: string | null;
  key: string | null;
  /** The first bytes of the message as text (the whole request is in the topic). */
  preview: string;
  replayable: boolean;
}

export interface ReplayReport {
  /** Published to the builds topic again. */
  replayed: number;
  /** Left out: not JSON or not an object; sending them again would only bring them back. */
  notReplayable: number;
}

const PREVIEW_CHARS = 300;

export class DeadLetters {
  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly topics: CiTopics,
    private readonly groupId: string,
    private readonly log: Logger,
  ) {}

  get replayGroup(): string {
    return `${this.groupId}.dlq-replay`;
  }

  /** Keeps `m` with why it is here; resolves once Kafka has it (the caller commits only after). */
  async publish(m: KafkaMessage, d: DeadLetter): Promise<void> {
    await this.producer.send({
      topic: this.topics.dlq,
      acks: -1,
      messages: [{ key: m.key, value: m.value, headers: deadLetterHeaders(d, new Date()) }],
    });
  }

  async #pending(): Promise<{ entries: Array<DlqEntry & { message: KafkaMessage }>; end: Offsets }> {
    const { from, end } = await withAdmin(this.kafka, async (a) => ({
      from: await groupStartOffsets(a, this.replayGroup, this.topics.dlq),
      end: await endOffsets(a, this.topics.dlq),
    }));
    const entries: Array<DlqEntry & { message: KafkaMessage }> = [];
    await readRange(this.kafka, this.topics.dlq, from, end, this.groupId, async (messages, partition) => {
      for (const m of messages) entries.push({ ...describe(m, partition), message: m });
    });
    return { entries, end };
  }

  /** The entries not replayed yet, oldest first. */
  async list(): Promise<DlqEntry[]> {
    return (await this.#pending()).entries.map(({ message: _, ...e }) => e);
  }

  /** Publishes every pending replayable entry to the builds topic again, then moves the bookmark. */
  async replay(): Promise<ReplayReport> {
    const { entries, end } = await this.#pending();
    const replayable = entries.filter((e) => e.replayable);
    if (replayable.length > 0) {
      await this.producer.send({
        topic: this.topics.builds,
        acks: -1,
        messages: replayable.map((e) => ({
          key: e.message.key,
          value: e.message.value,
          headers: { [DLQ_HEADER.replayedFrom]: `${this.topics.dlq}:${e.partition}:${e.offset}` },
        })),
      });
    }
    await withAdmin(this.kafka, (a) => setGroupOffsets(a, this.replayGroup, this.topics.dlq, end));
    const report = { replayed: replayable.length, notReplayable: entries.length - replayable.length };
    this.log.info({ event: "dlq.replayed", ...report });
    return report;
  }
}

function describe(m: KafkaMessage, partition: number): DlqEntry {
  const h = m.headers as Record<string, unknown> | undefined;
  const code = headerText(h, DLQ_HEADER.code);
  const status = headerText(h, DLQ_HEADER.status);
  const sourcePartition = headerText(h, DLQ_HEADER.partition);
  return {
    partition,
    offset: m.offset,
    code,
    reason: headerText(h, DLQ_HEADER.reason),
    status: status === null ? null : Number(status),
    source: {
      topic: headerText(h, DLQ_HEADER.topic),
      partition: sourcePartition === null ? null : Number(sourcePartition),
      offset: headerText(h, DLQ_HEADER.offset),
    },
    deadLetteredAt: headerText(h, DLQ_HEADER.at),
    key: m.key?.toString("utf8") ?? null,
    preview: (m.value ?? Buffer.alloc(0)).toString("utf8", 0, PREVIEW_CHARS * 4).slice(0, PREVIEW_CHARS),
    replayable: isReplayable(code),
  };
}

/**
 * Reads [from, to) of each partition of `topic` once, with a throwaway consumer group (kafkajs has
 * no group-less consumer) positioned by seek, deleted afterwards.
 */
async function readRange(
  kafka: Kafka,
  topic: string,
  from: Offsets,
  to: Offsets,
  groupPrefix: string,
  onMessages: (messages: KafkaMessage[], partition: number) => Promise<void>,
  timeoutMs = 60_000,
): Promise<void> {
  const pending = new Map<number, bigint>();
  for (const [p, end] of to) if (end > (from.get(p) ?? end)) pending.set(p, end);
  if (pending.size === 0) return;
  const groupId = `${groupPrefix}.range.${randomBytes(4).toString("hex")}`;
  // Short fetch waits: leaving the group waits for the fetch in flight.
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} took over ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = pending.get(batch.partition);
            const start = from.get(batch.partition) ?? 0n;
            if (end === undefined) return;
            const inRange = batch.messages.filter((m) => BigInt(m.offset) >= start && BigInt(m.offset) < end);
            if (inRange.length > 0) await onMessages(inRange, batch.partition);
            const last = batch.messages.at(-1);
            if (last && BigInt(last.offset) + 1n >= end) pending.delete(batch.partition);
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
      // After run(): kafkajs applies seeks before its next fetch (admin.setOffsets would cost a 5 s fetch wait).
      for (const [partition] of pending) {
        consumer.seek({ topic, partition, offset: (from.get(partition) ?? 0n).toString() });
      }
    });
  } finally {
    await consumer.disconnect().catch(() => {});
    await withAdmin(kafka, (a) => a.deleteGroups([groupId])).catch(() => {});
  }
}
