-- Change data capture: what Debezium may read from the WAL (pgoutput decodes only published tables).
-- Created here, explicitly, and Debezium runs with publication.autocreate.mode=disabled, so the set
-- of captured tables is reviewed like any schema change. The replication slots are created by the
-- launcher (infra/components/debezium.ts) before each Debezium instance first starts.
--
-- write_operations and rejected_messages stay out on purpose: they change on every write, nobody
-- consumes their changes, and search-sync bookkeeping must never emit change events (ARCHITECTURE §5).
-- A later table that must be captured is added with ALTER PUBLICATION ... ADD TABLE in a new migration.

-- Debezium A (NATS JetStream sink): cache invalidation for every entity the read-api caches.
CREATE PUBLICATION a4c_cdc FOR TABLE users, workspace, job;

-- Debezium B (Kafka sink): the job search projection needs jobs only; a publication of its own
-- keeps the server from decoding and sending user and workspace changes that B would discard.
CREATE PUBLICATION a4c_cdc_job FOR TABLE job;
