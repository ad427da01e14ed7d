/**
 * The CI consumer against the real Kafka and a real gateway, processor and read-api: build requests
 * published to the builds topic become builds (one per commit, however often published); what
 * cannot become a request lands in the DLQ with its reason and does not stop the rest; a gateway
 * that is down holds the partition (nothing committed, nothing skipped) until it is back; and a
 * consumer killed between publishing and the gateway's answer sends the same request again after
 * its restart, which the gateway answers as the same operation.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { requestedBuildIds } from "@a4c/shared";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { type CiEnv, dlqItems, startCiEnv } from "../helpers/ci-consumer.ts";
import { expectProblem, post, settle } from "../helpers/client.ts";
import { metricValue, operator } from "../helpers/ops.ts";
import { serviceLog } from "../helpers/stack.ts";
import { until } from "../helpers/wait.ts";

const DOCKERFILE = "FROM a4c/base:latest\nRUN echo built > /built.txt\n";

let ci: CiEnv;
let consumer: ServiceProcess;

beforeAll(async () => {
  ci = await startCiEnv("ci_consumer");
  consumer = await ci.consumer(1);
  await consumer.start();
});
afterAll(() => ci?.stop());

const sha = () => randomBytes(20).toString("hex");
const repository = () => `team/app-${randomBytes(3).toString("hex")}`;
const buildRequest = (repo: string, commitSha: string, more: Record<string, unknown> = {}) =>
  JSON.stringify({ repository: repo, commitSha, dockerfile: DOCKERFILE, ref: "main", ...more });

type Where = { partition: number; offset: string };

/** A consumer's log events about one message. */
function eventsFor(at: Where, events: string[], svc = consumer) {
  return serviceLog(svc).filter(
    (l) => events.includes(String(l.event)) && l.partition === at.partition && l.offset === at.offset,
  );
}
const settledEvents = (at: Where, svc = consumer) => eventsFor(at, ["build.accepted", "build.replayed"], svc);

/** Until the group's committed offset has moved past `at`. */
async function committedPast(at: Where, timeoutMs = 30_000): Promise<void> {
  await until(
    `offset ${at.offset} of partition ${at.partition} committed`,
    async () => {
      return (await ci.committed(at.partition)) > BigInt(at.offset);
    },
    timeoutMs,
  );
}

async function imageRows(repo: string, commitSha: string) {
  const rows = await ci.stack.sql<{ id: string; status: string; job_id: string }[]>`
    SELECT id::text, status, job_id::text FROM image WHERE repository = ${repo} AND commit_sha = ${commitSha}`;
  return [...rows];
}

async function ledgerRows(at: Where) {
  const key = `kafka:${ci.topic}:${at.partition}:${at.offset}`;
  const rows = await ci.stack.sql<{ operation_id: string; status: string }[]>`
    SELECT operation_id, status FROM write_operations WHERE idempotency_key = ${key}`;
  return [...rows];
}

test("a build request on the topic is accepted: the operation completes and the image exists", async () => {
  const repo = repository();
  const commitSha = sha();
  const at = await ci.publish(buildRequest(repo, commitSha), repo);
  await committedPast(at);

  const [event, ...more] = settledEvents(at);
  expect(more).toHaveLength(0);
  expect(event).toMatchObject({ event: "build.accepted", imageId: requestedBuildIds(repo, commitSha).imageId });
  const status = await settle(ci.stack, String(event?.operationId));
  expect(status.status).toBe(200);
  expect(status.body.status).toBe("completed");

  const images = await imageRows(repo, commitSha);
  expect(images).toHaveLength(1);
  expect(["BUILDING", "READY", "FAILED"]).toContain(images[0]?.status ?? "");
  // The request was sent with the message's own Idempotency-Key.
  expect(await ledgerRows(at)).toEqual([{ operation_id: String(event?.operationId), status: "completed" }]);
  expect(await metricValue(consumer, "a4c_ci_consumer_messages_total", { outcome: "accepted" })).toBeGreaterThan(0);
});

test("the same commit published three times: three requests answered, one image, one build", async () => {
  const repo = repository();
  const commitSha = sha();
  const published: Where[] = [];
  for (let i = 0; i < 3; i++) published.push(await ci.publish(buildRequest(repo, commitSha), repo));
  const last = published.at(-1) as Where;
  await committedPast(last);

  const { imageId, jobId } = requestedBuildIds(repo, commitSha);
  for (const at of published) {
    const events = settledEvents(at);
    expect(events).toHaveLength(1);
    expect(events[0]?.imageId).toBe(imageId);
    const done = await settle(ci.stack, String(events[0]?.operationId));
    expect(done.body.status).toBe("completed");
  }
  const images = await imageRows(repo, commitSha);
  expect(images).toEqual([expect.objectContaining({ id: imageId, job_id: jobId })]);
  const jobs = await ci.stack.sql`SELECT id FROM job WHERE image_id = ${imageId}`;
  expect(jobs).toHaveLength(1);
});

test("unparsable and non-object messages go to the DLQ with their reason; later messages still flow", async () => {
  const repo = repository();
  const commitSha = sha();
  // One key: one partition, so the good message is read after the bad ones.
  const notJson = await ci.publish("{not json", repo);
  const notObject = await ci.publish("[1,2,3]", repo);
  const empty = await ci.publish(null, repo);
  const good = await ci.publish(buildRequest(repo, commitSha), repo);
  await committedPast(good);

  const items = await dlqItems(consumer);
  const of = (at: Where) =>
    items.filter(
      (i) => i.source.partition === at.partition && i.source.offset === at.offset && i.source.topic === ci.topic,
    );
  expect(of(notJson)).toEqual([
    expect.objectContaining({ code: "unparsable", preview: "{not json", key: repo, replayable: false }),
  ]);
  expect(of(notJson)[0]?.reason).toStartWith("not JSON");
  expect(of(notObject)).toEqual([
    expect.objectContaining({ code: "not_an_object", reason: "JSON an array, not an object", preview: "[1,2,3]" }),
  ]);
  expect(of(empty)).toEqual([expect.objectContaining({ code: "unparsable", reason: "empty message" })]);
  expect(settledEvents(good)).toHaveLength(1);
  expect(await imageRows(repo, commitSha)).toHaveLength(1);
  expect(eventsFor(notJson, ["build.dead_lettered"])).toHaveLength(1);
});

test("a request the gateway refuses (bad SHA) goes to the DLQ with the gateway's detail; a replay sends it again", async () => {
  const repo = repository();
  const body = buildRequest(repo, "not-a-sha");
  const at = await ci.publish(body, repo);
  await committedPast(at);

  // What the gateway says about this body, asked directly.
  const direct = await post(ci.stack, "/v1/images/builds", JSON.parse(body));
  expectProblem(direct, 400);
  const items = (await dlqItems(consumer)).filter(
    (i) => i.source.offset === at.offset && i.source.partition === at.partition,
  );
  expect(items).toEqual([
    expect.objectContaining({ code: "rejected", status: 400, reason: direct.body.detail, replayable: true }),
  ]);
  expect(await ledgerRows(at)).toHaveLength(0);

  // A replay publishes the refused requests again (here it is refused again: back in the DLQ once).
  const replay = await operator(consumer, "/dlq/replay", "POST");
  expect(replay.status).toBe(200);
  expect(replay.body.replayed).toBeGreaterThanOrEqual(1);
  await until("the replayed request refused again", async () => {
    const now = await dlqItems(consumer);
    return now.some((i) => i.code === "rejected" && i.reason === direct.body.detail && i.source.offset !== at.offset);
  });
  const pending = await dlqItems(consumer);
  // The listing shows what was not replayed yet: the request's second refusal only.
  expect(pending.filter((i) => i.code === "rejected" && i.reason === direct.body.detail)).toHaveLength(1);
  expect(pending.every((i) => i.code === "rejected")).toBe(true);
});

test("the gateway down: nothing committed while it is; once back, the message is accepted exactly once", async () => {
  const repo = repository();
  const commitSha = sha();
  const retriedBefore = await metricValue(consumer, "a4c_ci_consumer_messages_total", { outcome: "retried" });
  await ci.stack.gateway.kill();
  try {
    const at = await ci.publish(buildRequest(repo, commitSha), repo);
    await until("the consumer retrying", async () => eventsFor(at, ["build.retry"]).length > 0, 30_000);
    // Several attempts later (retry delays ≤ 1 s here): still not committed, nothing built, nothing dead-lettered.
    await Bun.sleep(3_000);
    expect(await ci.committed(at.partition)).toBeLessThanOrEqual(BigInt(at.offset));
    expect(await imageRows(repo, commitSha)).toHaveLength(0);
    expect(eventsFor(at, ["build.dead_lettered"])).toHaveLength(0);
    expect(await metricValue(consumer, "a4c_ci_consumer_messages_total", { outcome: "retried" })).toBeGreaterThan(
      retriedBefore + 1,
    );
    const ready = await fetch(`${consumer.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { gateway: { ok: boolean } } }).checks.gateway.ok).toBe(false);

    await ci.stack.gateway.start();
    await committedPast(at);
    const events = settledEvents(at);
    expect(events.map((e) => e.event)).toEqual(["build.accepted"]);
    expect((await settle(ci.stack, String(events[0]?.operationId))).body.status).toBe("completed");
    expect(await ledgerRows(at)).toHaveLength(1);
    expect(await imageRows(repo, commitSha)).toHaveLength(1);
    expect(
      (await dlqItems(consumer)).filter((i) => i.source.offset === at.offset && i.source.partition === at.partition),
    ).toHaveLength(0);
  } finally {
    await ci.stack.gateway.start();
  }
});

test("the consumer killed -9 while its request waits at the gateway: restarted, each message accepted once", async () => {
  const repo = repository();
  const commits = [sha(), sha()];
  const gatewayPid = ci.stack.gateway.pid;
  if (!gatewayPid) throw new Error("the gateway is not running");
  // A frozen gateway: the consumer's request is sent and stays unanswered.
  process.kill(gatewayPid, "SIGSTOP");
  let first: Where;
  let second: Where;
  try {
    first = await ci.publish(buildRequest(repo, commits[0] as string), repo);
    second = await ci.publish(buildRequest(repo, commits[1] as string), repo);
    await Bun.sleep(1_500);
    // Sent, not answered: not committed.
    expect(await ci.committed(first.partition)).toBeLessThanOrEqual(BigInt(first.offset));
    await consumer.kill();
  } finally {
    process.kill(gatewayPid, "SIGCONT");
  }
  // Restarted (on a port of its own: the killed one's may be taken by now); it takes over the
  // partitions once the killed member's session has expired.
  expect(settledEvents(first, consumer)).toHaveLength(0);
  const restarted = await ci.consumer(2);
  await restarted.start(60_000);
  await committedPast(second);

  for (const [i, at] of [first, second].entries()) {
    const events = settledEvents(at, restarted);
    expect(events).toHaveLength(1);
    const done = await settle(ci.stack, String(events[0]?.operationId));
    expect(done.body.status).toBe("completed");
    // However far the first attempt got, the gateway stored the request once.
    expect(await ledgerRows(at)).toEqual([{ operation_id: String(events[0]?.operationId), status: "completed" }]);
    expect(await imageRows(repo, commits[i] as string)).toHaveLength(1);
  }
});
