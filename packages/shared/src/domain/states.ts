import { assertNever } from "../errors.ts";

/** The seeds' job states. */
export const JOB_STATUSES = ["SCHEDULED", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELED"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const JOB_TYPES = ["WORKSPACE_CREATE", "WORKSPACE_DELETE", "IMAGE_BUILD"] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const WORKSPACE_STATUSES = ["CREATING", "RUNNING", "FAILED", "DELETING", "DELETED"] as const;
export type WorkspaceStatus = (typeof WORKSPACE_STATUSES)[number];

/**
 * Job lifecycle: SCHEDULED → IN_PROGRESS → COMPLETED | FAILED; a scheduled or running job may be
 * canceled; a running job goes back to SCHEDULED when it cannot be placed yet.
 */
export function canTransitionJob(from: JobStatus, to: JobStatus): boolean {
  switch (from) {
    case "SCHEDULED":
      return to === "IN_PROGRESS" || to === "CANCELED";
    case "IN_PROGRESS":
      return to === "COMPLETED" || to === "FAILED" || to === "CANCELED" || to === "SCHEDULED";
    case "COMPLETED":
    case "FAILED":
    case "CANCELED":
      return false;
    default:
      return assertNever(from);
  }
}

export function isTerminalJob(status: JobStatus): boolean {
  return status === "COMPLETED" || status === "FAILED" || status === "CANCELED";
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
