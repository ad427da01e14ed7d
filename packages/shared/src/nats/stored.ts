import { JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import { decodeEnvelope, type Envelope } from "../domain/commands.ts";
import type { Entity } from "../domain/operation-id.ts";
import type { StreamNames } from "./streams.ts";

export interface StoredRequest {
  envelope: Envelope;
  seq: number;
}

/**
 * The request stored under an idempotency key (the last message on the key's subject), or
 * null when the key is unused or has expired. Read with JetStream's direct get.
 */
export async function findStoredRequest(
  jsm: JetStreamManager,
  names: StreamNames,
  entity: Entity,
  keyHash: string,
): Promise<StoredRequest | null> {
  let msg: Awaited<ReturnType<JetStreamManager["direct"]["getMessage"]>>;
  try {
    msg = await jsm.direct.getMessage(names.writes, { last_by_subj: names.writesSubject(entity, keyHash) });
  } catch (err) {
    if (err instanceof JetStreamApiError && err.status === 404) return null;
    throw err;
  }
  if (!msg) return null;
  const envelope = decodeEnvelope(msg.data);
  return envelope ? { envelope, seq: msg.seq } : null;
}

/** JetStream refused a publish because the key's subject already holds a message. */
export function isKeyTaken(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164);
}
