-- An Idempotency-Key is decided by the gateway per principal AND per kind of write (users,
-- workspaces, hosts): each kind has its own stream subjects. The ledger's uniqueness now has the
-- same scope (the kind is the operation id's letter: op-<u|w|h>-…). Before, one key used for two
-- kinds was accepted twice by the stream, and the ledger's narrower (user_id, key) uniqueness made
-- the second operation a silent key conflict: acknowledged, then never applied nor recorded.
ALTER TABLE write_operations DROP CONSTRAINT write_operations_user_id_idempotency_key_key;
CREATE UNIQUE INDEX write_operations_key_scope ON write_operations (user_id, substr(operation_id, 4, 1), idempotency_key);
