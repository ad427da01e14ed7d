/**
 * Job search data at scale, for the search benchmark and the fallback's counting tests: users, workspaces and `jobs` jobs generated inside PostgreSQL
 * (deterministic ids md5('u'|'w'|'j' || n)::uuid, so a benchmark can address rows without reading
 * them). User n's API token is `bench-user-<n>`.
 */
import type { Sql } from "@a4c/shared";

export const USERS = 2_000;
export const WORKSPACES_PER_USER = 5;

/** Runs before Debezium starts (snapshot `no_data`), so the seed is not streamed, as after a reindex. */
/** Seconds each step took, by name. `say` hears what is being done. */
export async function seedJobs(
  sql: Sql,
  jobs: number,
  say: (m: string) => void = () => {},
): Promise<Record<string, number>> {
  const seedTimes: Record<string, number> = {};
  const timed = async (label: string, q: string) => {
    const t = performance.now();
    await sql.unsafe(q);
    seedTimes[label] = (performance.now() - t) / 1000;
  };
  say(`seeding ${USERS} users, ${USERS * WORKSPACES_PER_USER} workspaces`);
  await timed(
    "users",
    `INSERT INTO users (id, name, email, token_hash)
       SELECT md5('u'||u)::uuid, 'Bench User '||u, 'user'||u||'@example.com', sha256(('bench-user-'||u)::bytea)
         FROM generate_series(1, ${USERS}) u;
     INSERT INTO workspace (id, user_id, project_name, image, status)
       SELECT md5('w'||w)::uuid, md5('u'||((w - 1) / ${WORKSPACES_PER_USER} + 1))::uuid, 'project-'||(w % 250),
              'a4c/base:latest', 'RUNNING'
         FROM generate_series(1, ${USERS * WORKSPACES_PER_USER}) w;`,
  );
  say(`seeding ${jobs} jobs (one INSERT … SELECT, every index of the job table maintained)`);
  // Job i: user i % USERS, a workspace of that user (image builds have none), created i·(90 d / JOBS)
  // after the start; 70 % succeeded, 15 % failed (one of eight messages), 5 % each running,
  // scheduled, cancelled; 60 % creates, 30 % deletes, 10 % image builds.
  await timed(
    "jobs",
    `INSERT INTO job (id, type, status, step, user_id, workspace_id, operation_id, attempts, error_code, error_message,
                      created_at, updated_at, started_at, finished_at)
     SELECT md5('j'||i)::uuid, type, status, CASE WHEN status = 'IN_PROGRESS' THEN 'container_create' END,
            md5('u'||u)::uuid,
            CASE WHEN type <> 'IMAGE_BUILD' THEN md5('w'||((u - 1) * ${WORKSPACES_PER_USER} + (i / ${USERS}) % ${WORKSPACES_PER_USER} + 1))::uuid END,
            'op-bench-'||i, CASE WHEN status = 'SCHEDULED' THEN 0 ELSE 1 END,
            CASE WHEN status = 'FAILED' THEN (ARRAY['E_DISK','E_PULL','E_SSH','E_EXIT','E_DISK','E_DOCKER','E_QUOTA','E_BUILD'])[kind + 1] END,
            CASE WHEN status = 'FAILED' THEN CASE kind
              WHEN 0 THEN 'disk full on host-'||(i % 40)
              WHEN 1 THEN 'image pull timeout after '||(30 + i % 90)||'s'
              WHEN 2 THEN 'ssh handshake failed: connection reset by peer on host-'||(i % 40)
              WHEN 3 THEN 'container exited with code '||(1 + i % 254)
              WHEN 4 THEN 'no space left on device while extracting layer '||substr(md5(i::text), 1, 12)
              WHEN 5 THEN 'docker daemon not responding on host-'||(i % 40)
              WHEN 6 THEN 'workspace quota exceeded for this project'
              ELSE 'build step '||(1 + i % 9)||' failed: npm ERR! network timeout' END END,
            at, at + interval '2 minutes', CASE WHEN status <> 'SCHEDULED' THEN at + interval '5 seconds' END,
            CASE WHEN status IN ('COMPLETED', 'FAILED', 'CANCELED') THEN at + interval '2 minutes' END
       FROM (SELECT i, i % ${USERS} + 1 AS u,
                    CASE WHEN i % 10 < 6 THEN 'WORKSPACE_CREATE' WHEN i % 10 < 9 THEN 'WORKSPACE_DELETE' ELSE 'IMAGE_BUILD' END AS type,
                    CASE WHEN r < 70 THEN 'COMPLETED' WHEN r < 85 THEN 'FAILED' WHEN r < 90 THEN 'IN_PROGRESS'
                         WHEN r < 95 THEN 'SCHEDULED' ELSE 'CANCELED' END AS status,
                    abs(hashint4(i * 7)) % 8 AS kind,
                    now() - interval '90 days' + make_interval(secs => i * (90 * 86400.0 / ${jobs})) AS at
               FROM (SELECT i, abs(hashint4(i)) % 100 AS r FROM generate_series(1, ${jobs}) i) g) s;`,
  );
  // As if every job had come through the change stream: the backup poller finds nothing behind.
  await timed(
    "bookkeeping",
    "INSERT INTO search_sync (job_id, indexed_version, indexed_at) SELECT id, version, now() FROM job; ANALYZE;",
  );
  return seedTimes;
}
