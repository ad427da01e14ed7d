/**
 * The answers clients read, as types, defined once: the public API's come from its OpenAPI
 * schemas (which test/integration/openapi.test.ts checks real answers against); the operators' DLQ
 * endpoints' are the types the processor and es-sync answer with. Types only, importable as
 * `@a4c/shared/answers` by the CLI and by the dashboard's browser code without any server code.
 */
import type { Static } from "@sinclair/typebox";
import type { ApiSchemas } from "./schemas.ts";

/** `Api["Job"]`, `Api["JobSearchAnswer"]`, …: each documented answer's type. */
export type Api = { [K in keyof typeof ApiSchemas]: Static<(typeof ApiSchemas)[K]> };

/** What `GET /v1/jobs/events` says of a job that changed (an `event: job`'s data). */
export interface JobChange {
  id: string;
  /** null for an image build: it belongs to no user. */
  userId: string | null;
  type: string;
  status: string;
  step: string | null;
  version: number;
}

/** An entry of the writes DLQ (`GET /dlq` on the processor): what was given up, why and whence. */
export interface WritesDlqEntry {
  /** The DLQ stream's sequence, oldest first. */
  seq: number;
  entity: "users" | "workspaces" | "hosts" | "images" | null;
  /** `gave_up` (failed every delivery) or `unparsable` (no write envelope at all). */
  reason: string;
  detail: string | null;
  operationId: string | null;
  /** Where it was in the WRITES stream. */
  sourceSeq: number | null;
  sourceSubject: string | null;
  storedAt: string;
  /** A `gave_up` message holding a write envelope: a replay may apply it. */
  replayable: boolean;
  /** The command, summarised field by field (no secrets). */
  command?: Record<string, unknown>;
}

export interface WritesDlqPage {
  items: WritesDlqEntry[];
  total: number;
}

export type ReplayOutcome = "applied" | "failed" | "still_failing" | "already_settled" | "not_replayable";

export interface ReplayItem {
  seq: number;
  operationId: string | null;
  outcome: ReplayOutcome;
  /** For `failed`: the code recorded for the operation. */
  code?: string;
  /** Why, for every outcome but `applied` and `already_settled`. */
  detail?: string;
}

/** `POST /dlq/replay` on the processor. */
export interface WritesReplayReport {
  /** Applied again and settled: `applied` or `failed` with a real code. */
  replayed: number;
  stillFailing: number;
  /** `already_settled` and `not_replayable`. */
  skipped: number;
  items: ReplayItem[];
}

/** An entry of es-sync's DLQ (`GET /dlq` on es-sync): a job it could not index after every retry. */
export interface SearchDlqEntry {
  jobId: string;
  version: number | null;
  /** How many times indexing it failed. */
  attempts: number;
  error: string;
  firstFailedAt: string;
  /** Not to be tried before this instant (epoch ms). */
  dueAtMs: number;
  partition: number;
  offset: string;
}

export interface SearchDlqPage {
  items: SearchDlqEntry[];
  total: number;
}

/** `POST /dlq/replay` on es-sync. */
export interface SearchReplayReport {
  replayed: number;
  indexed: number;
  failedAgain: number;
}
