import { assertNever } from "../errors.ts";

export const JOB_STATUSES = ["SCHEDULED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobType = "WORKSPACE_CREATE" | "WORKSPACE_DELETE" | "IMAGE_BUILD";

export const WORKSPACE_STATUSES = ["CREATING", "RUNNING", "FAILED", "DELETING", "DELETED"] as const;
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number];

/** Job lifecycle: SCHEDULED → RUNNING → SUCCEEDED | FAILED; a scheduled or running job may be cancelled. */
export function canTransitionJob(from: JobStatus, to: JobStatus): boolean {
  switch (from) {
    case "SCHEDULED":
      return to === "RUNNING" || to === "CANCELLED";
    case "RUNNING":
      return to === "SUCCEEDED" || to === "FAILED" || to === "CANCELLED" || to === "SCHEDULED";
    case "SUCCEEDED":
    case "FAILED":
    case "CANCELLED":
      return false;
    default:
      return assertNever(from);
  }
}

export function isTerminalJob(status: JobStatus): boolean {
  return status === "SUCCEEDED" || status === "FAILED" || status === "CANCELLED";
}

/** A workspace can be deleted from any live state; deleting twice is refused. */
export function canDeleteWorkspace(status: WorkspaceStatus): boolean {
  switch (status) {
    case "CREATING":
    case "RUNNING":
    case "FAILED":
      return true;
    case "DELETING":
    case "DELETED":
      return false;
    default:
      return assertNever(status);
  }
}

export const DELETABLE_WORKSPACE_STATUSES = WORKSPACE_STATUSES.filter(canDeleteWorkspace);
