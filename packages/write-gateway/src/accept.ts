import {
  ADMIN_ACTOR,
  acceptedBody,
  type Command,
  ENTITIES,
  type Entity,
  type Envelope,
  findStoredRequest,
  isKeyTaken,
  keyHash,
  type Logger,
  newOperationId,
  problems,
  resolveKeyConflict,
  type StreamNames,
  UnavailableError,
} from "@a4c/shared";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";

export interface WriteRequest {
  actor: string;
  idempotencyKey: string;
  fingerprint: string;
  entity: Entity;
  /** Builds the command for a new operation; ids generated here are the ones a replay returns. */
  command: (operationId: string) => Command;
}

export interface Accepted {
  replayed: boolean;
  operationId: string;
  body: Record<string, string>;
}

/**
 * Stores a write request durably in JetStream and decides idempotency in the same step.
 *
 * The request is published to a subject named after its idempotency key with the expectation
 * "no message on this subject yet". JetStream accepts exactly one request per key; every other
 * attempt is refused and answered from the stored message: a replay when it is the same request,
 * 422 when it is not. So the answer is 202 only once the request is stored, and no other
 * database (PostgreSQL, Redis) is needed to accept a write.
 */
export class AcceptService {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: StreamNames,
    private readonly tokenSecret: string,
    private readonly publishTimeoutMs: number,
    private readonly log: Logger,
    /** False while the NATS connection is down: answer 503 at once instead of after a timeout. */
    private readonly connected: () => boolean = () => true,
  ) {}

  async submit(req: WriteRequest): Promise<Accepted> {
    if (!this.connected()) throw new UnavailableError("jetstream");
    const hash = keyHash(req.actor, req.idempotencyKey);
    const operationId = newOperationId(req.entity, hash);
    const envelope: Envelope = {
      v: 1,
      operationId,
      actor: req.actor,
      idempotencyKey: req.idempotencyKey,
      fingerprint: req.fingerprint,
      acceptedAt: new Date().toISOString(),
      command: req.command(operationId),
    };
    if (req.actor === ADMIN_ACTOR) await this.#refuseKeyOfAnotherKind(req, hash);
    try {
      // The operation id travels as Nats-Msg-Id too, so even an unreadable body can be traced.
      await this.js.publish(this.names.writesSubject(req.entity, hash), JSON.stringify(envelope), {
        msgID: operationId,
        expect: { lastSubjectSequence: 0 },
        timeout: this.publishTimeoutMs,
      });
    } catch (err) {
      if (!isKeyTaken(err)) {
        // Not stored, or not known to be stored: never a 202. A retry with the same key is safe:
        // if this publish did land, the retry is answered as a replay of it.
        throw new UnavailableError("jetstream", { cause: err });
      }
      // Only looked up after a refused publish, never before: the publish decides.
      const winner = await this.#stored(req.entity, hash);
      if (!winner) throw new UnavailableError("jetstream", { cause: err });
      return this.#answerConflict(winner, req, operationId);
    }
    return { replayed: false, operationId, body: acceptedBody(envelope, this.tokenSecret) };
  }

  /**
   * Each kind of write (users, workspaces, hosts) has its own subjects, so the publish above only
   * sees the key's earlier use for the same kind. Only the admin writes more than one kind: its
   * key, already used for another kind, is a different request (422) — looked up first. (Two such
   * requests racing are both accepted; the ledger's key scope is per kind too, so both apply.)
   */
  async #refuseKeyOfAnotherKind(req: WriteRequest, hash: string): Promise<void> {
    for (const other of ENTITIES) {
      if (other !== req.entity && (await this.#stored(other, hash))) throw problems.keyReuse();
    }
  }

  /** The request stored under the key for one kind of write, if any; a stream error is an outage. */
  async #stored(entity: Entity, hash: string): Promise<Envelope | null> {
    try {
      const found = await findStoredRequest(this.jsm, this.names, entity, hash);
      return found?.envelope ?? null;
    } catch (err) {
      throw new UnavailableError("jetstream", { cause: err });
    }
  }

  #answerConflict(stored: Envelope, req: WriteRequest, ownOperationId: string): Accepted {
    const conflict = resolveKeyConflict(stored, {
      operationId: ownOperationId,
      fingerprint: req.fingerprint,
      actor: req.actor,
    });
    switch (conflict.kind) {
      case "own":
        return { replayed: false, operationId: stored.operationId, body: acceptedBody(stored, this.tokenSecret) };
      case "replay":
        this.log.debug({ event: "write.replayed", operationId: stored.operationId });
        return { replayed: true, operationId: stored.operationId, body: acceptedBody(stored, this.tokenSecret) };
      case "mismatch":
        throw problems.keyReuse();
    }
  }
}
