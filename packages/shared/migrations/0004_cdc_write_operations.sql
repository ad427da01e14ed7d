-- Status push: the read-api wakes long-polls and event streams from the ledger's change events
-- (an operation's row appears when it settles) instead of polling PostgreSQL, and invalidates
-- the cached status of that operation. Only Debezium A's publication gains it; the job search
-- projection (a4c_cdc_job) has no use for ledger rows.
ALTER PUBLICATION a4c_cdc ADD TABLE write_operations;
