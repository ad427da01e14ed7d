-- A4C schema, version 1: users, workspaces, jobs and the write-operation ledger.
-- Every mutable row carries `version` (bumped on each update) and `updated_at`.

CREATE TABLE users (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,           -- sha256 of the API token; the token itself is never stored
  version     bigint NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE workspace (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id),
  project_name  text NOT NULL,
  image         text NOT NULL,
  status        text NOT NULL CHECK (status IN ('CREATING', 'RUNNING', 'FAILED', 'DELETING', 'DELETED')),
  host_id       uuid,
  version       bigint NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
-- One live workspace per user and project.
CREATE UNIQUE INDEX workspace_live_project_key ON workspace (user_id, project_name) WHERE status <> 'DELETED';
CREATE INDEX workspace_user_page ON workspace (user_id, created_at DESC, id DESC);

CREATE TABLE job (
  id             uuid PRIMARY KEY,
  type           text NOT NULL CHECK (type IN ('WORKSPACE_CREATE', 'WORKSPACE_DELETE', 'IMAGE_BUILD')),
  status         text NOT NULL CHECK (status IN ('SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  step           text,
  user_id        uuid NOT NULL REFERENCES users (id),
  workspace_id   uuid REFERENCES workspace (id),
  operation_id   text NOT NULL,
  attempts       integer NOT NULL DEFAULT 0,
  error_code     text,
  error_message  text,
  version        bigint NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  started_at     timestamptz,
  finished_at    timestamptz
);
CREATE INDEX job_scheduled ON job (created_at) WHERE status = 'SCHEDULED';
CREATE INDEX job_workspace ON job (workspace_id);

-- The ledger of applied writes: one row per operation, written in the same transaction as the
-- operation's effect, so its primary key is what makes redelivery harmless.
-- user_id is the acting principal: a user's id, or 'admin' for the admin token.
CREATE TABLE write_operations (
  operation_id     text PRIMARY KEY,
  user_id          text NOT NULL,
  idempotency_key  text NOT NULL,
  fingerprint      text NOT NULL,
  entity_table     text NOT NULL,
  entity_id        uuid NOT NULL,
  op_type          text NOT NULL,
  status           text NOT NULL CHECK (status IN ('completed', 'failed')),
  job_id           uuid,
  error_code       text,
  error            text,
  stream_seq       bigint,
  created_at       timestamptz NOT NULL,          -- when the gateway accepted it
  completed_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX write_operations_completed_at ON write_operations (completed_at);
