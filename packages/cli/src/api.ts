/** The shapes of the API answers the CLI reads (ARCHITECTURE §4); only the fields it uses. */
import type { OperationView } from "@a4c/shared";

/** The status of an operation, as `GET /status/:id` and its event stream send it (types only: erased). */
export type { OperationView } from "@a4c/shared";

/** A 202 answer: the operation and, by write, the ids it will create. */
export interface Accepted {
  operationId: string;
  status: string;
  workspaceId?: string;
  jobId?: string;
}

export type Me = { kind: "admin" } | { kind: "user"; user: { id: string; name: string; email: string } };

export interface Workspace {
  id: string;
  userId: string;
  projectName: string;
  image: string | null;
  status: string;
  hostId: string | null;
  hostName: string | null;
  containerId: string | null;
  address: string | null;
  hostname: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  cursor: string | null;
}

export interface JobStep {
  name: string;
  status: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  message: string | null;
}

export interface Job {
  id: string;
  type: string;
  status: string;
  step: string | null;
  userId: string;
  workspaceId: string | null;
  operationId: string | null;
  attempts: number;
  error: { code: string; message: string | null } | null;
  hostName: string | null;
  note: string | null;
  steps: JobStep[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobHit {
  id: string;
  type: string;
  status: string;
  step: string | null;
  userId: string;
  ownerName: string | null;
  projectName: string | null;
  hostName: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
}

export interface JobSearch {
  items: JobHit[];
  total: number;
  totalRelation?: "eq" | "gte";
  facets: { status?: Record<string, number>; type?: Record<string, number> };
  cursor: string | null;
  source: string;
  degraded: boolean;
}

export interface Host {
  id: string;
  name: string;
  sshAddress: string;
  state: string;
  disk: { usedBytes: number; reservedBytes: number; totalBytes: number; usedPercent: number | null };
  workspaces: number;
  lastSeenAt: string | null;
  lastError: string | null;
}

export interface WritesDlqItem {
  seq: number;
  entity: string | null;
  reason: string;
  detail?: string | null;
  operationId: string | null;
  sourceSeq?: number | null;
  sourceSubject?: string | null;
  storedAt: string;
  replayable: boolean;
}

export interface WritesReplay {
  replayed: number;
  stillFailing: number;
  skipped: number;
  items: Array<{ seq: number; operationId: string | null; outcome: string; detail?: string }>;
}

export interface SearchDlqItem {
  jobId: string;
  version: number;
  attempts: number;
  error: string;
  firstFailedAt: string;
  partition: number;
  offset: string | number;
}

export interface SearchReplay {
  replayed: number;
  indexed: number;
  failedAgain: number;
}

const TERMINAL_JOB: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELED"]);

export function isTerminalJob(status: string): boolean {
  return TERMINAL_JOB.has(status);
}

/** Whether an operation, and the job it started if any, have both come to an end. */
export function isSettled(v: OperationView): boolean {
  if (v.status === "pending") return false;
  return v.job === undefined || isTerminalJob(v.job.status);
}
