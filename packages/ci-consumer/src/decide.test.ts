import { describe, expect, test } from "bun:test";
import {
  DLQ_HEADER,
  deadLetterHeaders,
  decide,
  type GatewayAnswer,
  headerText,
  idempotencyKey,
  isReplayable,
  parseBuildMessage,
  parseRetryAfter,
  problemText,
  retryDelay,
} from "./decide.ts";
import { loadEnv } from "./env.ts";
import { ciTopics, topicSpecs } from "./topics.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const answer = (status: number, body: unknown = null, more: Partial<GatewayAnswer> = {}): GatewayAnswer =>
  ({ kind: "answer", status, retryAfter: null, replayed: false, body, ...more }) as GatewayAnswer;

describe("messages", () => {
  test("a JSON object is a request, sent as the very bytes it came as", () => {
    const raw = bytes('{ "repository": "team/app", "commitSha": "abc" }');
    const p = parseBuildMessage(raw);
    expect(p).toEqual({ ok: true, body: raw });
  });

  test("empty, not UTF-8, not JSON: unparsable, saying why", () => {
    expect(parseBuildMessage(null)).toMatchObject({ ok: false, code: "unparsable", reason: "empty message" });
    expect(parseBuildMessage(new Uint8Array())).toMatchObject({ ok: false, code: "unparsable" });
    expect(parseBuildMessage(new Uint8Array([0x7b, 0xff, 0x7d]))).toMatchObject({
      ok: false,
      code: "unparsable",
      reason: "not UTF-8 text",
    });
    const notJson = parseBuildMessage(bytes("{not json"));
    expect(notJson).toMatchObject({ ok: false, code: "unparsable" });
    expect(notJson.ok ? "" : notJson.reason).toStartWith("not JSON: ");
  });

  test("JSON that is not an object: not_an_object, naming what it is", () => {
    expect(parseBuildMessage(bytes("[1,2]"))).toMatchObject({
      code: "not_an_object",
      reason: "JSON an array, not an object",
    });
    expect(parseBuildMessage(bytes("null"))).toMatchObject({
      code: "not_an_object",
      reason: "JSON null, not an object",
    });
    expect(parseBuildMessage(bytes('"x"'))).toMatchObject({
      code: "not_an_object",
      reason: "JSON a string, not an object",
    });
    expect(parseBuildMessage(bytes("42"))).toMatchObject({
      code: "not_an_object",
      reason: "JSON a number, not an object",
    });
  });

  test("the Idempotency-Key names the message, so a redelivery is the same request", () => {
    expect(idempotencyKey("ci.builds", 3, "1234")).toBe("kafka:ci.builds:3:1234");
    // Within the gateway's rule: 1 to 255 printable ASCII characters.
    expect(idempotencyKey("x".repeat(200), 63, "9223372036854775807")).toMatch(/^[\x21-\x7e]{1,255}$/);
  });
});

describe("what the gateway's answer means", () => {
  test("202 accepted, or replayed when the gateway had the request already", () => {
    const body = { operationId: "op-i-1", status: "pending", imageId: "im", jobId: "j" };
    expect(decide(answer(202, body))).toEqual({
      kind: "accepted",
      replayed: false,
      operationId: "op-i-1",
      imageId: "im",
    });
    expect(decide(answer(202, body, { replayed: true }))).toMatchObject({ kind: "accepted", replayed: true });
    expect(decide(answer(202, "odd"))).toEqual({ kind: "accepted", replayed: false, operationId: null, imageId: null });
  });

  test("4xx the message cannot get past: dead-lettered with the problem's detail", () => {
    const problem = { type: "t", title: "Bad Request", status: 400, detail: "commitSha must be 40 or 64 hex digits" };
    expect(decide(answer(400, problem))).toEqual({
      kind: "dead_letter",
      status: 400,
      reason: "commitSha must be 40 or 64 hex digits",
    });
    for (const status of [413, 415, 422]) expect(decide(answer(status)).kind).toBe("dead_letter");
  });

  test("401 and 403: the consumer's token is at fault, not the message: retried, never dead-lettered", () => {
    for (const status of [401, 403]) expect(decide(answer(status)).kind).toBe("retry");
  });

  test("5xx, 429, 404 (a gateway without the route yet), unreachable: retried, Retry-After read", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(decide(answer(503, { detail: "nats is unavailable" }, { retryAfter: "2" }), now)).toEqual({
      kind: "retry",
      reason: "nats is unavailable",
      retryAfterMs: 2_000,
    });
    expect(decide(answer(429, null, { retryAfter: "1" }), now)).toMatchObject({ kind: "retry", retryAfterMs: 1_000 });
    for (const status of [404, 408, 500, 502, 504]) expect(decide(answer(status)).kind).toBe("retry");
    expect(decide({ kind: "unreachable", error: "gateway unreachable (ECONNREFUSED)" })).toEqual({
      kind: "retry",
      reason: "gateway unreachable (ECONNREFUSED)",
      retryAfterMs: null,
    });
  });

  test("an answer the gateway never gives (200, 302) is not taken as accepted", () => {
    expect(decide(answer(200, {})).kind).toBe("retry");
    expect(decide(answer(302)).kind).toBe("retry");
  });

  test("problem text: detail, else title, else the status", () => {
    expect(problemText(400, { detail: "d", title: "t" })).toBe("d");
    expect(problemText(418, { title: "Teapot" })).toBe("418 Teapot");
    expect(problemText(400, "plain words\n")).toBe("400: plain words");
    expect(problemText(400, null)).toBe("HTTP 400");
  });
});

describe("waiting before trying again", () => {
  test("Retry-After in seconds or as an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("3", now)).toBe(3_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now)).toBe(5_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
  });

  test("backoff doubles from the base; Retry-After is honoured; every wait is bounded", () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => retryDelay(a, null, 200, 5_000))).toEqual([200, 400, 800, 1600, 3200, 5000]);
    expect(retryDelay(1_000, null, 200, 5_000)).toBe(5_000);
    expect(retryDelay(1, 2_000, 200, 5_000)).toBe(2_000);
    expect(retryDelay(1, 3_600_000, 200, 5_000)).toBe(5_000);
    expect(retryDelay(7, 0, 200, 5_000)).toBe(200);
  });
});

describe("the DLQ", () => {
  test("headers say why and where from; header values are bounded", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    const h = deadLetterHeaders(
      { code: "rejected", reason: "x".repeat(5_000), status: 400, topic: "ci.builds", partition: 2, offset: "17" },
      at,
    );
    expect(h).toMatchObject({
      [DLQ_HEADER.code]: "rejected",
      [DLQ_HEADER.status]: "400",
      [DLQ_HEADER.topic]: "ci.builds",
      [DLQ_HEADER.partition]: "2",
      [DLQ_HEADER.offset]: "17",
      [DLQ_HEADER.at]: "2026-01-01T00:00:00.000Z",
    });
    expect(h[DLQ_HEADER.reason]).toHaveLength(1_000);
    const unparsable = deadLetterHeaders(
      { code: "unparsable", reason: "not JSON", status: null, topic: "t", partition: 0, offset: "0" },
      at,
    );
    expect(unparsable[DLQ_HEADER.status]).toBeUndefined();
  });

  test("headers read back from Kafka's buffers; only refused requests are replayed", () => {
    expect(headerText({ a: Buffer.from("x") }, "a")).toBe("x");
    expect(headerText({ a: [Buffer.from("y"), Buffer.from("z")] }, "a")).toBe("y");
    expect(headerText({}, "a")).toBeNull();
    expect(headerText(undefined, "a")).toBeNull();
    expect(isReplayable("rejected")).toBe(true);
    expect(isReplayable("unparsable")).toBe(false);
    expect(isReplayable("not_an_object")).toBe(false);
    expect(isReplayable(null)).toBe(false);
  });

  test("topics: the builds topic and its DLQ, with explicit partitions and retention", () => {
    const specs = topicSpecs(ciTopics("ci.builds"));
    expect(specs.map((s) => [s.name, s.partitions])).toEqual([
      ["ci.builds", 6],
      ["ci.builds.dlq", 1],
    ]);
    for (const s of specs) expect(s.config["retention.ms"]).toMatch(/^\d+$/);
  });
});

describe("configuration", () => {
  test("defaults, and one message naming every bad variable", () => {
    const env = loadEnv({ A4C_ADMIN_TOKEN: "a".repeat(16) });
    expect(env).toMatchObject({
      PORT: 3006,
      CI_BUILDS_TOPIC: "ci.builds",
      CI_CONSUMER_GROUP: "a4c-ci-consumer",
      A4C_GATEWAY_URL: "http://127.0.0.1:3000",
    });
    expect(env.A4C_CI_TOKEN).toBeUndefined();
    expect(() => loadEnv({ A4C_ADMIN_TOKEN: "short", CI_BUILDS_TOPIC: "bad topic", CI_RETRY_MAX_MS: "x" })).toThrow(
      /A4C_ADMIN_TOKEN[\s\S]*CI_BUILDS_TOPIC[\s\S]*CI_RETRY_MAX_MS/,
    );
  });
});
