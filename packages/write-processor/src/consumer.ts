import type { Entity, Logger, StreamNames } from "@a4c/shared";
import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { BatchProcessor } from "./batch.ts";

/**
 * Pulls one entity's messages continuously and hands them to the batch processor in groups:
 * whatever arrived while the previous batch was committing forms the next batch (group commit),
 * so a quiet system answers in one round trip and a busy one commits hundreds per transaction.
 */
export class EntityConsumer {
  readonly #buffer: JsMsg[] = [];
  #wake: (() => void) | null = null;
  #messages: ConsumerMessages | null = null;
  #loop: Promise<void> | null = null;
  #stopping = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly names: StreamNames,
    readonly entity: Entity,
    private readonly batchMax: number,
    private readonly processor: BatchProcessor,
    private readonly log: Logger,
  ) {}

  get stopping(): boolean {
    return this.#stopping;
  }

  async start(): Promise<void> {
    this.#messages = await this.#consume();
    void this.#pump();
    this.#loop = this.#run();
    this.log.info({
      event: "consumer.started",
      entity: this.entity,
      durable: this.names.processorDurable(this.entity),
    });
  }

  #consume(): Promise<ConsumerMessages> {
    return this.js.consumers
      .get(this.names.writes, this.names.processorDurable(this.entity))
      .then((c) => c.consume({ max_messages: this.batchMax * 2 }));
  }

  /** Moves delivered messages into the buffer; if the subscription ever ends, opens a new one. */
  async #pump(): Promise<void> {
    while (!this.#stopping) {
      try {
        this.#messages ??= await this.#consume();
        for await (const msg of this.#messages) {
          this.#buffer.push(msg);
          this.#wake?.();
        }
      } catch (err) {
        this.log.error({ event: "consumer.pump_failed", entity: this.entity, err });
      }
      if (this.#stopping) return;
      this.log.warn({ event: "consumer.resubscribing", entity: this.entity });
      this.#messages = null;
      await Bun.sleep(1_000);
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      if (this.#buffer.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = null;
        continue;
      }
      const batch = this.#buffer.splice(0, this.batchMax);
      try {
        await this.processor.process(batch);
      } catch (err) {
        // Never reached for known error classes; if it is, let JetStream redeliver later.
        this.log.error({ event: "consumer.batch_failed", entity: this.entity, size: batch.length, err });
        for (const m of batch) m.nak(1_000);
      }
    }
  }

  /** Stops fetching, finishes the batch in flight, and hands back what was fetched but not started. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#messages?.close();
    this.#wake?.();
    await this.#loop;
    for (const m of this.#buffer.splice(0)) m.nak();
  }
}
