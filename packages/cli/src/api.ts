/**
 * The shapes of the API answers the CLI reads: the API's own types (`@a4c/shared/answers`, from
 * the schemas its OpenAPI documents are made of), under the names the commands use. Types only.
 */
import type { Api, SearchDlqEntry, SearchReplayReport, WritesDlqEntry, WritesReplayReport } from "@a4c/shared/answers";

export type OperationView = Api["OperationView"];
/** A 202 answer: the operation and, by write, the ids it will create. */
export type Accepted = Api["AcceptedJob"] & Partial<Api["AcceptedWorkspace"]>;
export type AcceptedUser = Api["AcceptedUser"];
export type Me = Api["Me"];
export type Workspace = Api["Workspace"];
export interface Page<T> {
  items: T[];
  cursor: string | null;
}
export type Job = Api["Job"];
export type JobStep = Job["steps"][number];
export type JobHit = Api["JobSearchAnswer"]["items"][number];
export type JobSearch = Api["JobSearchAnswer"];
export type Host = Api["Host"];
export type AcceptedBuild = Api["AcceptedBuild"];
export type AcceptedToken = Api["AcceptedToken"];
export type AcceptedSchedule = Api["AcceptedSchedule"];
export type Image = Api["Image"];
export type ImagePage = Api["ImagePage"];
export type JobLog = Api["JobLog"];
export type LogLine = JobLog["lines"][number];
export type Schedule = Api["Schedules"]["items"][number];
export type WritesDlqItem = WritesDlqEntry;
export type WritesReplay = WritesReplayReport;
export type SearchDlqItem = SearchDlqEntry;
export type SearchReplay = SearchReplayReport;

const TERMINAL_JOB: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELED"]);

export function isTerminalJob(status: string): boolean {
  return TERMINAL_JOB.has(status);
}

/** Whether an operation, and the job it started if any, have both come to an end. */
export function isSettled(v: OperationView): boolean {
  if (v.status === "pending") return false;
  return v.job === undefined || isTerminalJob(v.job.status);
}
