/**
 * The writes dead-letter queue as an operator sees it. The processor copies there what it will not
 * apply: a message that failed every delivery (`gave_up`) or that is no write envelope at all
 * (`unparsable`), with why and where it came from in headers. Read straight from the DLQ stream
 * (direct gets, in stream order); a listed command is summarised field by field, so a secret such
 * as a new user's token hash never leaves the stream.
 */
import { type Command, decodeEnvelope, ENTITIES, type Envelope, type StreamNames, UnavailableError } from "@a4c/shared";
import type { WritesDlqEntry } from "@a4c/shared/answers";
import { JetStreamApiError, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";
import { type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";

export type DlqReason = "gave_up" | "unparsable";

/** Why and whence, as the processor wrote them beside the message. */
export interface DlqOrigin {
  reason: string;
  detail: string | null;
  sourceSeq: number | null;
  sourceSubject: string | null;
  operationId: string | null;
}

const HEADER = {
  reason: "A4C-Reason",
  detail: "A4C-Detail",
  sourceSeq: "A4C-Source-Seq",
  sourceSubject: "A4C-Source-Subject",
  operationId: "A4C-Operation-Id",
} as const;

export function dlqHeaders(o: DlqOrigin & { reason: DlqReason }): MsgHdrs {
  const h = natsHeaders();
  h.set(HEADER.reason, o.reason);
  if (o.detail) h.set(HEADER.detail, o.detail.slice(0, 1000).replace(/[\r\n]+/g, " "));
  if (o.sourceSeq !== null) h.set(HEADER.sourceSeq, String(o.sourceSeq));
  if (o.sourceSubject) h.set(HEADER.sourceSubject, o.sourceSubject);
  if (o.operationId) h.set(HEADER.operationId, o.operationId);
  return h;
}

function originOf(h: MsgHdrs | undefined): DlqOrigin {
  const get = (name: string) => h?.get(name) || null;
  const seq = Number(get(HEADER.sourceSeq));
  return {
    reason: get(HEADER.reason) ?? "unknown",
    detail: get(HEADER.detail),
    sourceSeq: Number.isSafeInteger(seq) && seq > 0 ? seq : null,
    sourceSubject: get(HEADER.sourceSubject),
    operationId: get(HEADER.operationId),
  };
}

/** What a listing shows of a command: its ids and names, never a credential. */
export function commandSummary(c: Command): Record<string, unknown> {
  switch (c.type) {
    case "user.create":
      return { type: c.type, userId: c.userId, name: c.name, email: c.email };
    case "workspace.create":
      return {
        type: c.type,
        userId: c.userId,
        workspaceId: c.workspaceId,
        jobId: c.jobId,
        projectName: c.projectName,
        image: c.image,
      };
    case "workspace.delete":
      return { type: c.type, userId: c.userId, workspaceId: c.workspaceId, jobId: c.jobId };
    case "job.cancel":
      return { type: c.type, jobId: c.jobId, userId: c.userId };
    case "host.register":
      return { type: c.type, hostId: c.hostId, name: c.name, sshHost: c.sshHost, sshPort: c.sshPort };
    case "host.set_state":
      return { type: c.type, hostId: c.hostId, state: c.state };
    case "token.create":
      return { type: c.type, tokenId: c.tokenId, kind: c.kind, name: c.name };
    case "image.build":
      return { type: c.type, imageId: c.imageId, jobId: c.jobId, repository: c.repository, commitSha: c.commitSha };
    case "schedule.create":
      return { type: c.type, scheduleId: c.scheduleId, repository: c.repository, ref: c.ref, cron: c.cron };
    case "schedule.delete":
      return { type: c.type, scheduleId: c.scheduleId };
  }
}

/** A listed entry: the answer's type, which clients share. */
export type DlqEntry = WritesDlqEntry;

/** One DLQ message: the listing's entry and, when it holds one, the envelope to replay. */
export interface DlqMessage {
  entry: DlqEntry;
  envelope: Envelope | null;
}

function toDlqMessage(m: StoredMsg): DlqMessage {
  const origin = originOf(m.header);
  const envelope = decodeEnvelope(m.data);
  // <namespace>dlq.writes.<entity>.<keyHash>
  const entity = ENTITIES.find((e) => e === m.subject.split(".").at(-2)) ?? null;
  const entry: DlqEntry = {
    seq: m.seq,
    entity,
    ...origin,
    storedAt: m.time.toISOString(),
    replayable: origin.reason === "gave_up" && envelope !== null,
  };
  if (envelope) entry.command = commandSummary(envelope.command);
  return { entry, envelope };
}

/** A stream that cannot be read now is an outage (503, retry later), not a bug. */
async function unavailableOnError<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw new UnavailableError("nats", { cause: err });
  }
}

export class DlqStream {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly names: StreamNames,
  ) {}

  async #state(): Promise<{ messages: number; lastSeq: number }> {
    const { state } = await unavailableOnError(this.jsm.streams.info(this.names.dlq));
    return { messages: state.messages, lastSeq: state.last_seq };
  }

  /** Messages in the DLQ now. */
  async depth(): Promise<number> {
    return (await this.#state()).messages;
  }

  /** The messages stored up to now, oldest first; ones deleted meanwhile are skipped. */
  async *messages(): AsyncGenerator<DlqMessage> {
    const { lastSeq } = await this.#state();
    for (let seq = 1; seq <= lastSeq; ) {
      const m = await unavailableOnError(
        this.jsm.direct.getMessage(this.names.dlq, { seq, next_by_subj: this.names.dlqFilter }),
      );
      if (!m || m.seq > lastSeq) return;
      yield toDlqMessage(m);
      seq = m.seq + 1;
    }
  }

  async list(limit: number): Promise<{ items: DlqEntry[]; total: number }> {
    const items: DlqEntry[] = [];
    for await (const m of this.messages()) {
      items.push(m.entry);
      if (items.length >= limit) break;
    }
    return { items, total: await this.depth() };
  }

  /** Deletes a message; one already gone (another replay removed it) is fine. */
  async remove(seq: number): Promise<void> {
    try {
      await this.jsm.streams.deleteMessage(this.names.dlq, seq);
    } catch (err) {
      if (err instanceof JetStreamApiError && (await this.jsm.streams.getMessage(this.names.dlq, { seq })) === null) {
        return;
      }
      throw err;
    }
  }
}
