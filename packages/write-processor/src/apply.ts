import {
  applyUserCreate,
  applyWorkspaceCreate,
  applyWorkspaceDelete,
  type Envelope,
  entityOf,
  getWorkspace,
  markOperationFailed,
  type OperationClaim,
  operationExists,
  pgErrorCode,
  releaseExpiredKey,
  SqlState,
  type TransactionSql,
} from "@a4c/shared";

/** What applying one operation came to, inside a transaction that has not committed yet. */
export type ApplyResult =
  | { kind: "applied" }
  | { kind: "duplicate" }
  | { kind: "failed"; code: string; message: string }
  | { kind: "key_conflict" };

export interface FirstStatement {
  claimed: boolean;
  applied: boolean;
}

export function claimFor(envelope: Envelope, streamSeq: number): OperationClaim {
  const { table, id } = entityOf(envelope.command);
  const c = envelope.command;
  return {
    operationId: envelope.operationId,
    actor: envelope.actor,
    idempotencyKey: envelope.idempotencyKey,
    fingerprint: envelope.fingerprint,
    entityTable: table,
    entityId: id,
    opType: c.type,
    jobId: "jobId" in c ? c.jobId : null,
    streamSeq,
    acceptedAt: envelope.acceptedAt,
  };
}

/**
 * The one statement that claims an operation and applies its effect. Batches send these
 * pipelined, one per message, in a single transaction.
 */
export async function firstStatement(
  tx: TransactionSql,
  envelope: Envelope,
  claim: OperationClaim,
): Promise<FirstStatement> {
  const c = envelope.command;
  switch (c.type) {
    case "user.create":
      return { ...(await applyUserCreate(tx, claim, c)), applied: true };
    case "workspace.create":
      return { ...(await applyWorkspaceCreate(tx, claim, c)), applied: true };
    case "workspace.delete":
      return applyWorkspaceDelete(tx, claim, c);
  }
}

/** Settles what the first statement left open: duplicates, reused expired keys, refused deletes. */
export async function followUp(
  tx: TransactionSql,
  envelope: Envelope,
  claim: OperationClaim,
  first: FirstStatement,
  retentionHours: number,
): Promise<ApplyResult> {
  if (!first.claimed) {
    if (await operationExists(tx, claim.operationId)) return { kind: "duplicate" };
    if ((await releaseExpiredKey(tx, claim, retentionHours)) === 0) return { kind: "key_conflict" };
    const again = await firstStatement(tx, envelope, claim);
    if (!again.claimed) return { kind: "key_conflict" };
    return followUp(tx, envelope, claim, again, retentionHours);
  }
  if (!first.applied && envelope.command.type === "workspace.delete") {
    const ws = await getWorkspace(tx, envelope.command.workspaceId);
    const failure =
      !ws || ws.user_id !== envelope.command.userId
        ? { code: "not_found", message: "no such workspace for this user" }
        : { code: "invalid_state", message: `workspace is ${ws.status} and cannot be deleted` };
    await markOperationFailed(tx, claim.operationId, failure.code, failure.message);
    return { kind: "failed", ...failure };
  }
  return { kind: "applied" };
}

/** The failure code recorded for an operation whose data PostgreSQL refused. */
export function permanentFailure(err: unknown): { code: string; message: string } {
  const e = err as { constraint_name?: string; message?: string };
  switch (pgErrorCode(err)) {
    case SqlState.UNIQUE_VIOLATION:
      if (e.constraint_name === "users_email_key")
        return { code: "email_taken", message: "a user with this email already exists" };
      if (e.constraint_name === "workspace_live_project_key") {
        return { code: "project_exists", message: "a live workspace for this project already exists" };
      }
      return { code: "conflict", message: e.message ?? "unique constraint violated" };
    case SqlState.FOREIGN_KEY_VIOLATION:
      return { code: "user_not_found", message: "the user does not exist" };
    default:
      return { code: "rejected", message: e.message ?? "the database refused the operation" };
  }
}
