/**
 * The baseline a user would otherwise pick: HTTP straight into PostgreSQL, one transaction per
 * request, answered once it committed. Same route, body and Idempotency-Key as the gateway, and
 * the same three inserts a workspace create commits (into the bench's scratch copies of the
 * tables). No authentication, no queue: it is the simplest thing that durably stores a write.
 *
 * Run by bench/run.ts as a child process: PORT, DATABASE_URL, BASELINE_POOL.
 */
import postgres from "postgres";

const port = Number(process.env.PORT ?? 3199);
const sql = postgres(process.env.DATABASE_URL ?? "postgres://a4c@127.0.0.1:55432/a4c", {
  max: Number(process.env.BASELINE_POOL ?? 64),
  onnotice: () => {},
});
const ROUTE = /^\/v1\/users\/([0-9a-f-]{36})\/workspaces$/;

const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/health") return new Response("ok");
    const m = ROUTE.exec(url.pathname);
    if (req.method !== "POST" || !m) return new Response("not found", { status: 404 });
    const key = req.headers.get("idempotency-key");
    let body: { projectName?: unknown };
    try {
      body = (await req.json()) as { projectName?: unknown };
    } catch {
      return new Response("bad json", { status: 400 });
    }
    if (!key || typeof body.projectName !== "string") return new Response("bad request", { status: 400 });
    const userId = m[1] as string;
    const operationId = `base-${crypto.randomUUID()}`;
    const workspaceId = Bun.randomUUIDv7();
    const jobId = Bun.randomUUIDv7();
    try {
      // One statement in autocommit mode: one transaction, one commit (and one fsync) per request.
      await sql`
        WITH op AS (
          INSERT INTO pgb_ops (operation_id, user_id, idempotency_key, fingerprint, entity_table, entity_id,
                               op_type, status, job_id, stream_seq, created_at)
          VALUES (${operationId}, ${userId}, ${key}, ${operationId}, 'workspace', ${workspaceId},
                  'workspace.create', 'completed', ${jobId}, 0, now())
          ON CONFLICT DO NOTHING
          RETURNING operation_id
        ), w AS (
          INSERT INTO pgb_ws (id, user_id, project_name, image, status)
          SELECT ${workspaceId}, ${userId}, ${body.projectName}, 'a4c/base:latest', 'CREATING' FROM op
          RETURNING id, user_id
        ), j AS (
          INSERT INTO pgb_job (id, type, status, step, user_id, workspace_id, operation_id)
          SELECT ${jobId}, 'WORKSPACE_CREATE', 'SCHEDULED', 'queued', w.user_id, w.id, ${operationId} FROM w
          RETURNING id
        )
        SELECT (SELECT count(*) FROM op)::int AS claimed`;
    } catch (err) {
      return new Response(String(err), { status: 500 });
    }
    return Response.json({ operationId, workspaceId }, { status: 201 });
  },
});

process.on("SIGTERM", async () => {
  server.stop(true);
  await sql.end({ timeout: 2 });
  process.exit(0);
});
