import {
  applyHostRegister,
  applyHostSetState,
  applyImageBuild,
  applyJobCancel,
  applyScheduleCreate,
  applyScheduleDelete,
  applyTokenCreate,
  applyUserCreates,
  applyWorkspaceCreates,
  applyWorkspaceDelete,
  type Command,
  classifyPgError,
  type Envelope,
  entityOf,
  getJob,
  getWorkspace,
  imageUsable,
  insertFailedOperation,
  type Logger,
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

/** What applying needs besides the operations. */
export interface ApplyOptions {
  /** How long a key and its ledger row are kept (an expired key may be used again). */
  retentionHours: number;
  /** The image every host has; any other image of a workspace must be a READY build. */
  baseImage: string;
}

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

export interface Pending {
  envelope: Envelope;
  claim: OperationClaim;
}

/**
 * Claims and applies a batch of operations with one statement per kind of command: all user
 * creations together, all workspace creations together (multi-row, from arrays), then each
 * deletion. Creations go first, so a create and a delete of one workspace keep their order.
 * Returns, in input order, what each operation's first statement did.
 */
export async function firstStatements(
  tx: TransactionSql,
  items: Pending[],
  opts: ApplyOptions,
): Promise<FirstStatement[]> {
  const users: Array<{ claim: OperationClaim; user: Extract<Command, { type: "user.create" }> }> = [];
  const workspaces: Array<{ claim: OperationClaim; workspace: Extract<Command, { type: "workspace.create" }> }> = [];
  for (const { envelope, claim } of items) {
    const c = envelope.command;
    if (c.type === "user.create") users.push({ claim, user: c });
    else if (c.type === "workspace.create") workspaces.push({ claim, workspace: c });
  }
  const [claimedUsers, claimedWorkspaces] = await Promise.all([
    users.length ? applyUserCreates(tx, users) : new Set<string>(),
    workspaces.length ? applyWorkspaceCreates(tx, workspaces, opts.baseImage) : { claimed: new Set(), made: new Set() },
  ]);
  return Promise.all(
    items.map(async ({ envelope, claim }): Promise<FirstStatement> => {
      const c = envelope.command;
      switch (c.type) {
        case "user.create":
          return { claimed: claimedUsers.has(claim.operationId), applied: true };
        case "workspace.create":
          return {
            claimed: claimedWorkspaces.claimed.has(claim.operationId),
            applied: claimedWorkspaces.made.has(claim.operationId),
          };
        case "workspace.delete":
          return applyWorkspaceDelete(tx, claim, c);
        case "job.cancel":
          return applyJobCancel(tx, claim, c);
        case "host.register":
          return applyHostRegister(tx, claim, {
            id: c.hostId,
            name: c.name,
            sshHost: c.sshHost,
            sshPort: c.sshPort,
            sshUser: c.sshUser,
            hostKey: c.hostKey,
            diskLimitBytes: c.diskLimitBytes,
          });
        case "host.set_state":
          return applyHostSetState(tx, claim, c);
        case "token.create":
          return applyTokenCreate(tx, claim, { ...c, createdBy: envelope.actor });
        case "image.build":
          return applyImageBuild(tx, claim, { ...c, requestedBy: envelope.actor });
        case "schedule.create":
          return applyScheduleCreate(tx, claim, { ...c, createdBy: envelope.actor });
        case "schedule.delete":
          return applyScheduleDelete(tx, claim, c.scheduleId);
      }
    }),
  );
}

/** Settles what the first statement left open: duplicates, reused expired keys, refused deletes. */
export async function followUp(
  tx: TransactionSql,
  envelope: Envelope,
  claim: OperationClaim,
  first: FirstStatement,
  opts: ApplyOptions,
): Promise<ApplyResult> {
  if (!first.claimed) {
    if (await operationExists(tx, claim.operationId)) return { kind: "duplicate" };
    if ((await releaseExpiredKey(tx, claim, opts.retentionHours)) === 0) return { kind: "key_conflict" };
    const [again] = await firstStatements(tx, [{ envelope, claim }], opts);
    if (!again) return { kind: "key_conflict" };
    if (!again.claimed) return { kind: "key_conflict" };
    return followUp(tx, envelope, claim, again, opts);
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
  if (!first.applied) {
    const failure = await refusal(tx, envelope.command, opts);
    if (failure) {
      await markOperationFailed(tx, claim.operationId, failure.code, failure.message);
      return { kind: "failed", ...failure };
    }
  }
  return { kind: "applied" };
}

/** Applies operations in one transaction: their first statements together, then each follow-up in order. */
export async function applyAll(tx: TransactionSql, items: Pending[], opts: ApplyOptions): Promise<ApplyResult[]> {
  const firsts = await firstStatements(tx, items, opts);
  const results: ApplyResult[] = [];
  for (const [n, item] of items.entries()) {
    results.push(await followUp(tx, item.envelope, item.claim, firsts[n] as FirstStatement, opts));
  }
  return results;
}

/**
 * Applies one operation in a savepoint. If PostgreSQL refuses its data, the effect is rolled back
 * and the operation recorded `failed` with our code; any other error is the caller's to handle.
 */
export async function applyOrRecordRefusal(
  tx: TransactionSql,
  item: Pending,
  opts: ApplyOptions,
  log: Logger,
): Promise<ApplyResult> {
  try {
    const [result] = await tx.savepoint((sp) => applyAll(sp, [item], opts));
    return result as ApplyResult;
  } catch (err) {
    if (classifyPgError(err) !== "permanent") throw err;
    const failure = permanentFailure(err);
    // The client sees our code and message; PostgreSQL's own text is for the log only.
    log.warn({ event: "operation.refused", operationId: item.claim.operationId, code: failure.code, err });
    await insertFailedOperation(tx, item.claim, failure.code, failure.message);
    return { kind: "failed", ...failure };
  }
}

/** Why a command changed nothing, in words for the client. */
async function refusal(
  tx: TransactionSql,
  c: Command,
  opts: ApplyOptions,
): Promise<{ code: string; message: string } | null> {
  switch (c.type) {
    case "workspace.create": {
      const use = await imageUsable(tx, c.image, opts.baseImage);
      return use.ok ? { code: "rejected", message: "the workspace could not be created" } : use;
    }
    case "schedule.delete":
      return { code: "not_found", message: "no such schedule" };
    case "job.cancel": {
      const job = await getJob(tx, c.jobId);
      if (!job || (c.userId !== null && job.user_id !== c.userId)) return { code: "not_found", message: "no such job" };
      if (job.type !== "WORKSPACE_CREATE") {
        return { code: "invalid_state", message: `a ${job.type} job cannot be canceled; only workspace creations can` };
      }
      return { code: "invalid_state", message: `the job is ${job.status} and cannot be canceled` };
    }
    case "host.register":
      return { code: "host_exists", message: "a host with this name or SSH address is already registered" };
    case "host.set_state":
      return { code: "not_found", message: "no such host" };
    default:
      return null;
  }
}

/**
 * The failure recorded for an operation whose data PostgreSQL refused: a code and a message we
 * wrote, since both are shown to the client. PostgreSQL's own text stays in the processor's log.
 */
export function permanentFailure(err: unknown): { code: string; message: string } {
  const e = err as { constraint_name?: string };
  const state = pgErrorCode(err) ?? "";
  switch (state) {
    case SqlState.UNIQUE_VIOLATION:
      if (e.constraint_name === "users_email_key")
        return { code: "email_taken", message: "a user with this email already exists" };
      if (e.constraint_name === "workspace_live_project_key") {
        return { code: "project_exists", message: "a live workspace for this project already exists" };
      }
      return { code: "conflict", message: "the request conflicts with an existing record" };
    case SqlState.FOREIGN_KEY_VIOLATION:
      return { code: "user_not_found", message: "the user does not exist" };
    case SqlState.CHECK_VIOLATION:
    case SqlState.NOT_NULL_VIOLATION:
      return { code: "invalid_data", message: "the request holds a value the database cannot store" };
    default:
      // Class 22, data exceptions: a value out of range, an invalid byte sequence, …
      if (state.startsWith("22")) {
        return { code: "invalid_data", message: "the request holds a value the database cannot store" };
      }
      return { code: "rejected", message: "the database refused the operation" };
  }
}
