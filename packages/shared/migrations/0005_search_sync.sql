-- Search projection bookkeeping (es-sync). Deliberately NOT in any Debezium publication
-- (0003 lists its tables explicitly): marking a job as indexed must never emit a change event,
-- or every indexing would feed itself back through Kafka (ARCHITECTURE §5).
-- No foreign key to job: a deleted job's row here is removed by es-sync, and a FK would make
-- job deletes wait on (and fail for) bookkeeping.
CREATE TABLE search_sync (
  job_id           uuid PRIMARY KEY,
  indexed_version  bigint,                 -- newest job version confirmed in Elasticsearch
  indexed_at       timestamptz,
  failed_version   bigint,                 -- version that exhausted its retries (sits in the DLQ)
  last_error       text,
  failed_at        timestamptz
);

-- The backup poller looks for jobs changed a while ago whose newest version is not indexed.
CREATE INDEX job_search_sync_updated_at ON job (updated_at);
