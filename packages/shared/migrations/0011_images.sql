-- Images, CI and schedules (issue 13): ci tokens, images built on the hosts from a Dockerfile,
-- where each image is present, the build log, build schedules and their ticks.

-- Tokens that are not a user's: a `ci` token may request image builds and follow them, nothing else.
CREATE TABLE api_token (
  id          uuid PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('ci')),
  name        text NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,            -- sha256 of the token; the token itself is never stored
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- One image per repository + commit + trigger. A build request's trigger is 'request' (so one build
-- per commit, however many requests); a schedule's tick is its own trigger ('schedule:<id>@<tick>').
CREATE TABLE image (
  id            uuid PRIMARY KEY,
  repository    text NOT NULL,
  commit_sha    text NOT NULL,
  ref           text,                           -- the branch or tag the request named, if any
  trigger       text NOT NULL,
  tag           text NOT NULL UNIQUE,           -- a4c/<repository>:<sha> (schedule builds: -<tick>)
  status        text NOT NULL DEFAULT 'BUILDING' CHECK (status IN ('BUILDING', 'READY', 'FAILED', 'REMOVED')),
  dockerfile    text NOT NULL,
  files         jsonb NOT NULL DEFAULT '{}',    -- the build context besides the Dockerfile: path → text
  digest        text,                           -- the image id Docker computed (sha256:…)
  size_bytes    bigint,
  job_id        uuid NOT NULL,
  requested_by  text NOT NULL,                  -- admin, a ci token's id, or schedule:<id>
  schedule_id   uuid,
  version       bigint NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  built_at      timestamptz,
  UNIQUE (repository, commit_sha, trigger)
);

-- The latest build request seen for each ref of a repository: how a schedule resolves its ref to a
-- commit (and to the Dockerfile and files to build it with).
CREATE TABLE ref_head (
  repository  text NOT NULL,
  ref         text NOT NULL,
  commit_sha  text NOT NULL,
  image_id    uuid NOT NULL REFERENCES image (id) ON DELETE CASCADE,
  seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository, ref)
);
CREATE INDEX image_created_at ON image (created_at DESC, id DESC);

-- Which hosts hold an image (built there or copied there), under which Docker image id.
CREATE TABLE image_host (
  image_id    uuid NOT NULL REFERENCES image (id) ON DELETE CASCADE,
  host_id     uuid NOT NULL REFERENCES hosts (id),
  how         text NOT NULL CHECK (how IN ('built', 'transferred')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (image_id, host_id)
);

-- Image builds have no user and no workspace; they point at their image.
ALTER TABLE job ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE job ADD COLUMN image_id uuid REFERENCES image (id);
ALTER TABLE job ADD CONSTRAINT job_owner_check CHECK (user_id IS NOT NULL OR type = 'IMAGE_BUILD');
CREATE INDEX job_image ON job (image_id) WHERE image_id IS NOT NULL;
ALTER TABLE image ADD CONSTRAINT image_job_fkey FOREIGN KEY (job_id) REFERENCES job (id) DEFERRABLE INITIALLY DEFERRED;

-- A job's output lines (the build log), in order. Outside the publications: a line is no change event.
CREATE TABLE job_log (
  id          bigserial PRIMARY KEY,
  job_id      uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  step        text NOT NULL,
  line        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_log_job ON job_log (job_id, id);

-- Build schedules. `last_tick_at` is the newest tick claimed: a scheduler claims a tick by moving
-- it forward (compare-and-set), so each tick starts one build however many schedulers run.
CREATE TABLE schedule (
  id            uuid PRIMARY KEY,
  repository    text NOT NULL,
  ref           text NOT NULL,
  cron          text NOT NULL,
  timezone      text NOT NULL DEFAULT 'UTC',
  created_by    text NOT NULL,
  last_tick_at  timestamptz NOT NULL,          -- ticks after this one are due; a new schedule: its creation
  last_outcome  text,
  version       bigint NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Each claimed tick and what it did (a build, or why none).
CREATE TABLE schedule_tick (
  schedule_id  uuid NOT NULL,
  tick_at      timestamptz NOT NULL,
  image_id     uuid,
  outcome      text NOT NULL,
  claimed_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schedule_id, tick_at)
);

-- The cleanup daemon removes images too: a record names a container or an image.
ALTER TABLE cleanup_action ALTER COLUMN container_id DROP NOT NULL;
ALTER TABLE cleanup_action ADD COLUMN image_id uuid;
ALTER TABLE cleanup_action ADD CONSTRAINT cleanup_action_object_check CHECK (container_id IS NOT NULL OR image_id IS NOT NULL);
