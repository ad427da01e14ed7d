/**
 * Logical replication slots (Debezium's): how much WAL each one holds back. A slot whose reader
 * stopped keeps every WAL segment from its confirmed position on, until the disk fills.
 */
import type { Sql } from "./client.ts";

export interface SlotLag {
  slot: string;
  active: boolean;
  /** Bytes of WAL between the server's current position and what the slot's reader confirmed. */
  lagBytes: number;
  /** PostgreSQL's word on the slot's WAL: `reserved`, `extended`, `unreserved` or `lost`. */
  walStatus: string | null;
}

export async function replicationSlotLag(sql: Sql): Promise<SlotLag[]> {
  const rows = await sql<{ slot: string; active: boolean; lag: string | null; wal_status: string | null }[]>`
    SELECT slot_name AS slot, active, wal_status,
           pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(confirmed_flush_lsn, restart_lsn))::bigint::text AS lag
      FROM pg_replication_slots
     WHERE database = current_database()`;
  return rows.map((r) => ({ slot: r.slot, active: r.active, lagBytes: Number(r.lag ?? 0), walStatus: r.wal_status }));
}
