import { describe, expect, test } from "bun:test";
import { createLogger } from "@a4c/shared";
import { opsApp } from "./app.ts";
import type { BuildConsumer } from "./consumer.ts";
import type { DeadLetters, DlqEntry } from "./dlq.ts";
import type { GatewayClient } from "./gateway.ts";
import { ciConsumerMetrics } from "./metrics.ts";

const ADMIN = "admin-token-0123456789";

function app(o: { kafka?: boolean; joined?: boolean; gateway?: boolean; entries?: DlqEntry[] } = {}) {
  const replays: number[] = [];
  const a = opsApp({
    log: createLogger("ci-consumer-test", "silent"),
    registry: ciConsumerMetrics().registry,
    consumer: { joined: o.joined ?? true, assignedPartitions: [0, 1] } as unknown as BuildConsumer,
    gateway: { reachable: async () => o.gateway ?? true } as unknown as GatewayClient,
    dlq: {
      list: async () => o.entries ?? [],
      replay: async () => {
        replays.push(1);
        return { replayed: 2, notReplayable: 1 };
      },
    } as unknown as DeadLetters,
    kafkaUp: async () => o.kafka ?? true,
    adminToken: ADMIN,
  });
  const call = async (path: string, init: RequestInit = {}) => {
    const r = await a.handle(new Request(`http://localhost${path}`, init));
    return {
      status: r.status,
      type: r.headers.get("content-type") ?? "",
      body: (await r.json()) as Record<string, unknown>,
    };
  };
  return { call, replays };
}

const asAdmin = { headers: { authorization: `Bearer ${ADMIN}` } };

describe("ops routes", () => {
  test("/ready: Kafka up and joined, gateway reachable", async () => {
    const ok = await app().call("/ready");
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      status: "ready",
      checks: { kafka: { ok: true, detail: { partitions: [0, 1] } }, gateway: { ok: true, detail: "reachable" } },
    });
    for (const down of [{ kafka: false }, { joined: false }, { gateway: false }]) {
      const r = await app(down).call("/ready");
      expect(r.status).toBe(503);
      expect(r.body.status).toBe("not_ready");
    }
  });

  test("the DLQ needs the admin token; limit is checked; replay answers its report", async () => {
    const entry = { partition: 0, offset: "1", code: "rejected" } as DlqEntry;
    const { call, replays } = app({ entries: [entry, { ...entry, offset: "2" }] });
    const anonymous = await call("/dlq");
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toContain("application/problem+json");
    expect((await call("/dlq", asAdmin)).body).toEqual({ items: [entry, { ...entry, offset: "2" }], total: 2 });
    expect((await call("/dlq?limit=1", asAdmin)).body).toEqual({ items: [entry], total: 2 });
    expect((await call("/dlq?limit=0", asAdmin)).status).toBe(400);
    expect((await call("/dlq?limit=abc", asAdmin)).status).toBe(400);
    expect((await call("/dlq/replay", { method: "POST" })).status).toBe(401);
    expect(replays).toHaveLength(0);
    const replay = await call("/dlq/replay", { method: "POST", ...asAdmin });
    expect(replay).toMatchObject({ status: 200, body: { replayed: 2, notReplayable: 1 } });
  });

  test("/metrics needs a token; unknown routes are 404 problems", async () => {
    const { call } = app();
    expect((await call("/metrics")).status).toBe(401);
    const r = await app().call("/nope");
    expect(r.status).toBe(404);
    expect(r.type).toContain("application/problem+json");
  });
});
