-- Provisioning (issue 11): the seeds' job states, hosts, placement reservations, job steps and
-- leases, workspace addresses and hostnames, and the cleanup daemon's record.

-- Job states take the seeds' names. Each renamed row gets a new version, so change data capture,
-- the cache and the job search follow it like any other change.
ALTER TABLE job DROP CONSTRAINT job_status_check;
UPDATE job
   SET status = CASE status WHEN 'RUNNING' THEN 'IN_PROGRESS' WHEN 'SUCCEEDED' THEN 'COMPLETED' ELSE 'CANCELED' END,
       version = version + 1,
       updated_at = now()
 WHERE status IN ('RUNNING', 'SUCCEEDED', 'CANCELLED');
ALTER TABLE job ADD CONSTRAINT job_status_check
  CHECK (status IN ('SCHEDULED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELED'));

-- The bare-metal hosts workspaces run on, reached over SSH with a pinned host key.
CREATE TABLE hosts (
  id                uuid PRIMARY KEY,
  name              text NOT NULL UNIQUE,
  ssh_host          text NOT NULL,
  ssh_port          integer NOT NULL CHECK (ssh_port BETWEEN 1 AND 65535),
  ssh_user          text NOT NULL DEFAULT 'root',
  host_key          text NOT NULL,               -- OpenSSH public key line or SHA256: fingerprint
  state             text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining', 'unreachable')),
  -- What workspaces may use on this host; null: the filesystem under the data root decides.
  disk_limit_bytes  bigint CHECK (disk_limit_bytes > 0),
  used_bytes        bigint NOT NULL DEFAULT 0,   -- Docker's own use (images, containers, volumes)
  total_bytes       bigint NOT NULL DEFAULT 0,   -- the data root's filesystem
  fs_free_bytes     bigint NOT NULL DEFAULT 0,
  disk_checked_at   timestamptz,
  last_seen_at      timestamptz,
  last_error        text,
  port_min          integer NOT NULL DEFAULT 20000,
  port_max          integer NOT NULL DEFAULT 29999,
  version           bigint NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (ssh_host, ssh_port),
  CHECK (port_min BETWEEN 1 AND port_max AND port_max <= 65535)
);

-- Disk held for placements in flight: counted against a host until the job ends.
CREATE TABLE host_reservation (
  job_id      uuid PRIMARY KEY REFERENCES job (id) ON DELETE CASCADE,
  host_id     uuid NOT NULL REFERENCES hosts (id),
  bytes       bigint NOT NULL CHECK (bytes > 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX host_reservation_host ON host_reservation (host_id);

ALTER TABLE workspace
  ADD COLUMN container_id  text,
  -- Disk a running workspace holds on its host (its reservation, kept once it runs).
  ADD COLUMN disk_bytes    bigint,
  ADD COLUMN port          integer,
  ADD COLUMN hostname      text;
ALTER TABLE workspace ADD CONSTRAINT workspace_host_fkey FOREIGN KEY (host_id) REFERENCES hosts (id);
-- An address (host + port) and a hostname belong to one live workspace at a time.
CREATE UNIQUE INDEX workspace_host_port_key ON workspace (host_id, port)
  WHERE port IS NOT NULL AND status IN ('CREATING', 'RUNNING', 'DELETING');
CREATE UNIQUE INDEX workspace_hostname_key ON workspace (hostname)
  WHERE hostname IS NOT NULL AND status IN ('CREATING', 'RUNNING', 'DELETING');

ALTER TABLE job
  ADD COLUMN host_id           uuid REFERENCES hosts (id),
  ADD COLUMN cancel_requested  boolean NOT NULL DEFAULT false,
  -- What a waiting job waits for ("no active host has room"), for people, not for code.
  ADD COLUMN note              text;
CREATE INDEX job_runnable ON job (created_at) WHERE status IN ('SCHEDULED', 'IN_PROGRESS');

-- Leases: which provisioner runs a job, until when; an owner-less row holds a job back until
-- `expires_at` (a retry's backoff). Outside the published tables: a heartbeat is no change event.
CREATE TABLE job_lease (
  job_id      uuid PRIMARY KEY REFERENCES job (id) ON DELETE CASCADE,
  owner       text,
  expires_at  timestamptz NOT NULL,
  renewed_at  timestamptz NOT NULL DEFAULT now()
);

-- Each step of a job: status, times and what happened. A step change also bumps the job's
-- version (same transaction), so readers of the job see it through change data capture.
CREATE TABLE job_step (
  job_id       uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  name         text NOT NULL,
  position     integer NOT NULL,
  status       text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'compensated', 'skipped')),
  attempts     integer NOT NULL DEFAULT 0,
  started_at   timestamptz,
  finished_at  timestamptz,
  message      text,
  PRIMARY KEY (job_id, name)
);

-- What the cleanup daemon removed, or in dry-run mode would have removed, and why.
CREATE TABLE cleanup_action (
  id            bigserial PRIMARY KEY,
  host_id       uuid NOT NULL REFERENCES hosts (id),
  container_id  text NOT NULL,
  workspace_id  uuid,
  reason        text NOT NULL,
  action        text NOT NULL CHECK (action IN ('removed', 'would_remove', 'failed')),
  detail        text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cleanup_action_created_at ON cleanup_action (created_at DESC);
