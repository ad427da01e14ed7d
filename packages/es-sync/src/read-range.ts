/**
 * Reads a fixed range of a topic, [from, to) per partition, once: for listing and replaying the
 * DLQ and for a reindex's catch-up. A throwaway consumer group positioned with setOffsets does the
 * fetching (kafkajs has no group-less consumer); it is deleted afterwards.
 */
import { randomBytes } from "node:crypto";
import type { Kafka, KafkaMessage } from "kafkajs";
import { deleteGroup, type Offsets, setGroupOffsets } from "./topics.ts";

export async function readRange(
  kafka: Kafka,
  topic: string,
  from: Offsets,
  to: Offsets,
  onMessages: (messages: KafkaMessage[], partition: number) => Promise<void>,
  opts: { groupPrefix: string; timeoutMs?: number },
): Promise<number> {
  const pending = new Map<number, bigint>();
  for (const [p, end] of to) if (end > (from.get(p) ?? end)) pending.set(p, end);
  if (pending.size === 0) return 0;
  const groupId = `${opts.groupPrefix}.range.${randomBytes(4).toString("hex")}`;
  await setGroupOffsets(kafka, groupId, topic, from);
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  let read = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reading ${topic} did not finish in ${opts.timeoutMs ?? 60_000} ms`)),
        opts.timeoutMs ?? 60_000,
      );
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = pending.get(batch.partition);
            if (end === undefined) return;
            const inRange = batch.messages.filter((m) => BigInt(m.offset) < end);
            if (inRange.length > 0) await onMessages(inRange, batch.partition);
            read += inRange.length;
            const last = batch.messages.at(-1);
            if (last && BigInt(last.offset) + 1n >= end) pending.delete(batch.partition);
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await done;
  } finally {
    await consumer.disconnect().catch(() => {});
    await deleteGroup(kafka, groupId);
  }
  return read;
}
