import { Counter, createRegistry, Gauge, Histogram, LATENCY_BUCKETS, type SlotLag } from "@a4c/shared";

/** Read at each scrape: the DLQ stream's message count and the database's replication slots. */
export interface ScrapeReadings {
  dlqDepth?: () => Promise<number>;
  slots?: () => Promise<SlotLag[]>;
}

export function processorMetrics(readings: ScrapeReadings = {}) {
  const { dlqDepth, slots } = readings;
  const registry = createRegistry("write-processor");
  return {
    registry,
    messages: new Counter({
      name: "a4c_processor_messages_total",
      help: "Messages handled, by entity and outcome (completed, failed, duplicate, rejected, retried, gave_up)",
      labelNames: ["entity", "outcome"] as const,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "a4c_processor_batch_size",
      help: "Messages per PostgreSQL transaction",
      labelNames: ["entity"] as const,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: "a4c_processor_batch_seconds",
      help: "Time to apply and commit one batch",
      labelNames: ["entity"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    acceptToCommit: new Histogram({
      name: "a4c_processor_accept_to_commit_seconds",
      help: "From the gateway's acceptance to the commit of the operation's effect",
      labelNames: ["entity"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    postgresUnavailable: new Gauge({
      name: "a4c_processor_postgres_unavailable",
      help: "1 while batches wait for PostgreSQL to come back",
      registers: [registry],
    }),
    pending: new Gauge({
      name: "a4c_processor_consumer_pending",
      help: "Messages in the stream not yet delivered to the consumer",
      labelNames: ["entity"] as const,
      registers: [registry],
    }),
    dlqMessages: new Gauge({
      name: "a4c_processor_dlq_messages",
      help: "Messages in the writes dead-letter queue (given up or unparsable, not replayed yet)",
      registers: [registry],
      async collect() {
        try {
          if (dlqDepth) this.set(await dlqDepth());
        } catch {
          // NATS unreachable: keep the last value; /ready says why.
        }
      },
    }),
    slotLag: new Gauge({
      name: "a4c_postgres_replication_slot_lag_bytes",
      help: "WAL a replication slot holds back: the server's position minus what the slot's reader confirmed",
      labelNames: ["slot", "active"] as const,
      registers: [registry],
      async collect() {
        if (!slots) return;
        try {
          const read = await slots();
          this.reset();
          for (const s of read) this.set({ slot: s.slot, active: String(s.active) }, s.lagBytes);
        } catch {
          // PostgreSQL unreachable: keep the last values; a4c_processor_postgres_unavailable says why.
        }
      },
    }),
    dlqReplays: new Counter({
      name: "a4c_processor_dlq_replays_total",
      help: "DLQ messages handled by operator replays, by outcome (applied, failed, still_failing, already_settled, not_replayable)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
  };
}
export type ProcessorMetrics = ReturnType<typeof processorMetrics>;
