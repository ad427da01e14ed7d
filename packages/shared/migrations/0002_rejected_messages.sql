-- Messages the processor could not parse: kept for inspection, answerable by /status.
CREATE TABLE rejected_messages (
  stream_seq    bigint PRIMARY KEY,
  subject       text NOT NULL,
  operation_id  text,
  reason        text NOT NULL,
  payload       bytea NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_messages_operation ON rejected_messages (operation_id) WHERE operation_id IS NOT NULL;
CREATE INDEX rejected_messages_received_at ON rejected_messages (received_at);
