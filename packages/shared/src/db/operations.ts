import type { OperationRecord } from "../domain/status.ts";
import { DLQ_RETENTION_FACTOR } from "../nats/streams.ts";
import type { Sql, TransactionSql } from "./client.ts";

type Db = Sql | TransactionSql;

export interface OperationClaim {
  operationId: string;
  actor: string;
  idempotencyKey: string;
  fingerprint: string;
  entityTable: string;
  entityId: string;
  opType: string;
  jobId: string | null;
  streamSeq: number;
  acceptedAt: string;
}

/**
 * The first two CTEs of every apply statement, for any number of operations at once: `claim`
 * (their ledger columns, unnested from arrays) and `op`, the ledger insert, which returns only
 * the operations (and keys) not applied before. Effects join `op`, so they happen only for those.
 */
export function claimOperations(tx: TransactionSql, claims: OperationClaim[]) {
  const col = <T>(f: (c: OperationClaim) => T) => claims.map(f);
  return tx`
    claim AS (
      SELECT * FROM unnest(
        ${col((c) => c.operationId)}::text[], ${col((c) => c.actor)}::text[], ${col((c) => c.idempotencyKey)}::text[],
        ${col((c) => c.fingerprint)}::text[], ${col((c) => c.entityTable)}::text[], ${col((c) => c.entityId)}::uuid[],
        ${col((c) => c.opType)}::text[], ${col((c) => c.jobId)}::uuid[], ${col((c) => c.streamSeq)}::bigint[],
        ${col((c) => c.acceptedAt)}::timestamptz[]
      ) AS t(operation_id, actor, idempotency_key, fingerprint, entity_table, entity_id, op_type, job_id, stream_seq, accepted_at)
    ), op AS (
      INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table, entity_id,
                                    op_type, status, job_id, stream_seq, created_at)
      SELECT operation_id, actor, idempotency_key, fingerprint, entity_table, entity_id,
             op_type, 'completed', job_id, stream_seq, accepted_at FROM claim
      ON CONFLICT DO NOTHING
      RETURNING operation_id
    )`;
}

/** Marks an operation failed inside the transaction that claimed it. */
export async function markOperationFailed(tx: Db, operationId: string, code: string, message: string): Promise<void> {
  await tx`UPDATE write_operations SET status = 'failed', error_code = ${code}, error = ${message}, job_id = NULL
           WHERE operation_id = ${operationId}`;
}

/** Records a failure for an operation whose effect was rolled back (or never attempted). */
export async function insertFailedOperation(tx: Db, c: OperationClaim, code: string, message: string): Promise<void> {
  await tx`
    INSERT INTO write_operations (operation_id, user_id, idempotency_key, fingerprint, entity_table, entity_id,
                                  op_type, status, error_code, error, stream_seq, created_at)
    VALUES (${c.operationId}, ${c.actor}, ${c.idempotencyKey}, ${c.fingerprint}, ${c.entityTable}, ${c.entityId},
            ${c.opType}, 'failed', ${code}, ${message}, ${c.streamSeq}, ${c.acceptedAt}::timestamptz)
    ON CONFLICT DO NOTHING`;
}

/**
 * Removes an operation's `failed` / `gave_up` record so a replay can apply it again, in the
 * replay's transaction. True when there was one to remove: the DELETE locks the row, so of two
 * concurrent replays of one operation only the first finds it (the second waits, then finds none).
 */
export async function releaseGaveUpOperation(tx: TransactionSql, operationId: string): Promise<boolean> {
  const rows = await tx`
    DELETE FROM write_operations WHERE operation_id = ${operationId} AND status = 'failed' AND error_code = 'gave_up'
    RETURNING 1`;
  return rows.length > 0;
}

export async function operationExists(tx: Db, operationId: string): Promise<boolean> {
  const rows = await tx`SELECT 1 FROM write_operations WHERE operation_id = ${operationId}`;
  return rows.length > 0;
}

/**
 * A key that expired from the stream may be used again; its old ledger row, older than the
 * retention, must make way for the new operation.
 */
export async function releaseExpiredKey(tx: Db, c: OperationClaim, retentionHours: number): Promise<number> {
  const rows = await tx`
    DELETE FROM write_operations
    WHERE user_id = ${c.actor} AND idempotency_key = ${c.idempotencyKey} AND operation_id <> ${c.operationId}
      AND substr(operation_id, 4, 1) = substr(${c.operationId}, 4, 1)
      AND created_at < now() - make_interval(secs => ${retentionHours * 3600})
    RETURNING 1`;
  return rows.length;
}

export async function getOperation(db: Db, operationId: string): Promise<OperationRecord | null> {
  const rows = await db<OperationRecord[]>`
    SELECT o.operation_id, o.user_id, o.entity_table, o.entity_id::text AS entity_id, o.status, o.error_code, o.error,
           o.job_id::text AS job_id, j.status AS job_status, j.step AS job_step
    FROM write_operations o LEFT JOIN job j ON j.id = o.job_id
    WHERE o.operation_id = ${operationId}`;
  return rows[0] ?? null;
}

/** Which of these operations have been processed (for long-poll waiters). */
export async function getOperations(db: Db, operationIds: string[]): Promise<OperationRecord[]> {
  if (operationIds.length === 0) return [];
  return db<OperationRecord[]>`
    SELECT o.operation_id, o.user_id, o.entity_table, o.entity_id::text AS entity_id, o.status, o.error_code, o.error,
           o.job_id::text AS job_id, j.status AS job_status, j.step AS job_step
    FROM write_operations o LEFT JOIN job j ON j.id = o.job_id
    WHERE o.operation_id = ANY(${operationIds})`;
}

/**
 * Deletes ledger rows past retention, in bounded batches so the purge never holds long locks; a
 * `gave_up` row is kept as long as the DLQ keeps its message.
 */
export async function purgeOperations(db: Sql, retentionHours: number, batch = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await db`
      DELETE FROM write_operations WHERE operation_id IN (
        SELECT operation_id FROM write_operations
        WHERE completed_at < now() - make_interval(secs => ${retentionHours * 3600 + 3600})
          -- A given-up operation stays while its DLQ message may: a replay needs its record.
          AND (error_code IS DISTINCT FROM 'gave_up'
               OR completed_at < now() - make_interval(secs => ${retentionHours * DLQ_RETENTION_FACTOR * 3600 + 3600}))
        LIMIT ${batch})
      RETURNING 1`;
    total += rows.length;
    if (rows.length < batch) return total;
  }
}

export async function recordRejectedMessage(
  db: Db,
  m: { seq: number; subject: string; operationId: string | null; reason: string; payload: Uint8Array },
): Promise<void> {
  await db`
    INSERT INTO rejected_messages (stream_seq, subject, operation_id, reason, payload)
    VALUES (${m.seq}, ${m.subject}, ${m.operationId}, ${m.reason}, ${Buffer.from(m.payload)})
    ON CONFLICT (stream_seq) DO NOTHING`;
}

export async function getRejectedOperation(db: Db, operationId: string): Promise<{ reason: string } | null> {
  const rows = await db<{ reason: string }[]>`
    SELECT reason FROM rejected_messages WHERE operation_id = ${operationId} ORDER BY stream_seq LIMIT 1`;
  return rows[0] ?? null;
}

export async function purgeRejectedMessages(db: Sql, retentionHours: number): Promise<number> {
  const rows = await db`
    DELETE FROM rejected_messages WHERE received_at < now() - make_interval(secs => ${retentionHours * 7 * 3600})
    RETURNING 1`;
  return rows.length;
}
