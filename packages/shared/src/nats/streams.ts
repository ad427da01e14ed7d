import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { Entity } from "../domain/operation-id.ts";

/** Names of every stream, subject and consumer, derived from one namespace prefix. */
export class StreamNames {
  constructor(readonly namespace = "") {}

  get writes(): string {
    return `${this.namespace.toUpperCase()}WRITES`;
  }
  get dlq(): string {
    return `${this.namespace.toUpperCase()}WRITES_DLQ`;
  }
  writesSubject(entity: Entity, keyHash: string): string {
    return `${this.namespace}writes.${entity}.${keyHash}`;
  }
  writesFilter(entity: Entity): string {
    return `${this.namespace}writes.${entity}.>`;
  }
  dlqSubject(entity: Entity, keyHash: string): string {
    return `${this.namespace}dlq.writes.${entity}.${keyHash}`;
  }
  /** Every subject of the DLQ stream. */
  get dlqFilter(): string {
    return `${this.namespace}dlq.writes.>`;
  }
  /** Core NATS subject (not stored) on which processors announce settled operation ids. */
  get operationsSettled(): string {
    return `${this.namespace}events.operations.settled`;
  }
  processorDurable(entity: Entity): string {
    return `${this.namespace}processor-${entity}`;
  }
}

export interface StreamLimits {
  retentionHours: number;
  maxBytes: number;
  duplicateWindowMs: number;
}

export const DEFAULT_LIMITS: StreamLimits = {
  retentionHours: 24,
  maxBytes: 2 * 1024 ** 3,
  duplicateWindowMs: 120_000,
};

/**
 * WRITES keeps every accepted request for the retention period whether processed or not: the
 * last message on a key's subject IS the idempotency record, and the read side answers
 * `pending` from it. When full it refuses new messages (discard new) rather than dropping
 * acknowledged ones, so the gateway answers 503 instead of losing data.
 */
export function writesStreamConfig(names: StreamNames, limits: StreamLimits): NamedStreamConfig {
  return {
    name: names.writes,
    subjects: [`${names.namespace}writes.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_age: nanos(limits.retentionHours * 3_600_000),
    max_bytes: limits.maxBytes,
    duplicate_window: nanos(Math.min(limits.duplicateWindowMs, limits.retentionHours * 3_600_000)),
    allow_direct: true,
    num_replicas: 1,
  };
}

/** The DLQ keeps what it holds this many times the retention (an operator may be slow to look). */
export const DLQ_RETENTION_FACTOR = 7;

export function dlqStreamConfig(names: StreamNames, limits: StreamLimits): NamedStreamConfig {
  return {
    name: names.dlq,
    subjects: [names.dlqFilter],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.retentionHours * DLQ_RETENTION_FACTOR * 3_600_000),
    max_bytes: Math.max(64 * 1024 ** 2, Math.floor(limits.maxBytes / 4)),
    allow_direct: true,
    num_replicas: 1,
  };
}

/** Creates a stream, or brings an existing one to the given config. Safe to race. */
type NamedStreamConfig = Partial<StreamConfig> & { name: string };

export async function ensureStream(jsm: JetStreamManager, config: NamedStreamConfig): Promise<void> {
  const name = config.name;
  try {
    await jsm.streams.info(name);
    await jsm.streams.update(name, config);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
  }
  try {
    await jsm.streams.add(config);
  } catch (err) {
    // Another process created it between our lookup and our add.
    if (err instanceof JetStreamApiError && err.code === 10058) return;
    throw err;
  }
}

export async function ensureWriteStreams(
  jsm: JetStreamManager,
  names: StreamNames,
  limits: StreamLimits = DEFAULT_LIMITS,
): Promise<void> {
  await ensureStream(jsm, writesStreamConfig(names, limits));
  await ensureStream(jsm, dlqStreamConfig(names, limits));
}

/** Durable pull consumer per entity. Redelivery is bounded by our own give-up rule, not max_deliver. */
export async function ensureProcessorConsumer(
  jsm: JetStreamManager,
  names: StreamNames,
  entity: Entity,
  ackWaitMs = 30_000,
): Promise<void> {
  const config = {
    durable_name: names.processorDurable(entity),
    filter_subject: names.writesFilter(entity),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
    max_ack_pending: 4096,
  };
  try {
    await jsm.consumers.info(names.writes, config.durable_name);
    await jsm.consumers.update(names.writes, config.durable_name, {
      ack_wait: config.ack_wait,
      max_ack_pending: config.max_ack_pending,
    });
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.status !== 404) throw err;
    await jsm.consumers.add(names.writes, config);
  }
}
