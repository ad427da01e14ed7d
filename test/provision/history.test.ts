/**
 * History retention: the provisioner purges, in batches, the steps and output lines of jobs that
 * finished before the retention, and the cleanup record and schedule ticks older than it; what is
 * newer, and every unfinished job's history, stays. The jobs themselves stay.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { purgeHistory } from "@a4c/shared";
import { createUser } from "../helpers/client.ts";
import { type ProvisionStack, startProvisionStack } from "../helpers/provision.ts";
import { until } from "../helpers/wait.ts";

let p: ProvisionStack;
const sql = () => p.stack.sql;

beforeAll(async () => {
  p = await startProvisionStack("history");
}, 120_000);
afterAll(async () => {
  await p?.stop();
});

/** A job of `userId` finished `agoSeconds` ago (null: still running), with steps and `lines` log lines. */
async function jobWithHistory(userId: string, agoSeconds: number | null, lines: number): Promise<string> {
  const id = crypto.randomUUID();
  const finished = agoSeconds === null ? null : new Date(Date.now() - agoSeconds * 1000);
  await sql()`
    INSERT INTO job (id, type, status, user_id, operation_id, finished_at)
    VALUES (${id}, 'WORKSPACE_DELETE', ${finished ? "COMPLETED" : "IN_PROGRESS"}, ${userId}, ${`op-${id}`}, ${finished})`;
  await sql()`
    INSERT INTO job_step (job_id, name, position, status)
    VALUES (${id}, 'container_remove', 1, 'done'), (${id}, 'release', 2, 'done')`;
  await sql()`
    INSERT INTO job_log (job_id, step, line) SELECT ${id}, 'build', 'line ' || n FROM generate_series(1, ${lines}) n`;
  return id;
}

const count = async (table: "job_step" | "job_log", jobId: string) =>
  (await sql()<{ n: number }[]>`SELECT count(*)::int AS n FROM ${sql()(table)} WHERE job_id = ${jobId}`)[0]?.n;

test("old history is purged in batches; recent and unfinished history stays; the jobs stay", async () => {
  const user = await createUser(p.stack);
  const old = await jobWithHistory(user.userId, 3_600, 12_000);
  const recent = await jobWithHistory(user.userId, 1, 10);
  const running = await jobWithHistory(user.userId, null, 10);
  const hostId = p.hostIds["host-1"] as string;
  await sql()`
    INSERT INTO cleanup_action (host_id, container_id, reason, action, created_at)
    VALUES (${hostId}, 'old', 'test', 'removed', now() - interval '1 hour'), (${hostId}, 'new', 'test', 'removed', now())`;
  const scheduleId = crypto.randomUUID();
  await sql()`
    INSERT INTO schedule_tick (schedule_id, tick_at, outcome, claimed_by, created_at)
    VALUES (${scheduleId}, now() - interval '1 hour', 'old', 't', now() - interval '1 hour'),
           (${scheduleId}, now(), 'new', 't', now())`;

  // Directly, with a retention of 10 minutes and batches of 5,000: 12,000 lines take 3 batches.
  const started = performance.now();
  const purged = await purgeHistory(sql(), 600 / 86_400, 5_000);
  const ms = performance.now() - started;
  expect(purged).toEqual({ jobSteps: 2, jobLog: 12_000, cleanupActions: 1, scheduleTicks: 1 });
  console.log(`purged ${purged.jobLog} log lines and ${purged.jobSteps} steps in ${ms.toFixed(0)} ms`);
  expect([await count("job_step", old), await count("job_log", old)]).toEqual([0, 0]);
  expect([await count("job_step", recent), await count("job_log", recent)]).toEqual([2, 10]);
  expect([await count("job_step", running), await count("job_log", running)]).toEqual([2, 10]);
  const [left] = await sql()<{ jobs: number; actions: string[]; ticks: string[] }[]>`
    SELECT (SELECT count(*)::int FROM job WHERE id IN (${old}, ${recent}, ${running})) AS jobs,
           (SELECT array_agg(container_id) FROM cleanup_action WHERE container_id IN ('old', 'new')) AS actions,
           (SELECT array_agg(outcome) FROM schedule_tick WHERE schedule_id = ${scheduleId}) AS ticks`;
  expect(left).toEqual({ jobs: 3, actions: ["new"], ticks: ["new"] });
}, 60_000);

test("the provisioner runs the purge on its own, by A4C_HISTORY_RETENTION_DAYS", async () => {
  const user = await createUser(p.stack);
  const old = await jobWithHistory(user.userId, 3_600, 20);
  const recent = await jobWithHistory(user.userId, 1, 20);
  const provisioner = await p.provisioner({
    A4C_PROVISION_CONCURRENCY: "0",
    A4C_HISTORY_RETENTION_DAYS: String(600 / 86_400),
    A4C_HISTORY_PURGE_INTERVAL_MS: "300",
  });
  await provisioner.start();
  try {
    await until("the old job's history purged", async () => (await count("job_log", old)) === 0, 20_000);
    expect(await count("job_step", old)).toBe(0);
    expect([await count("job_step", recent), await count("job_log", recent)]).toEqual([2, 20]);
  } finally {
    await provisioner.stop();
  }
}, 60_000);
