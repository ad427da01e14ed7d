/**
 * The JetStream ceiling the gateway is measured against: publish-and-wait-for-ack from Bun,
 * with as many publishes in flight as wrk keeps HTTP requests in flight, into a file-backed
 * stream on the same NATS server, one subject per message as the gateway does (one per key).
 */
import { randomBytes } from "node:crypto";
import { DiscardPolicy, jetstream, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { headers, nanos } from "@nats-io/transport-node";
import type { BenchStack } from "./stack.ts";
import { onCleanup } from "./stack.ts";
import { percentiles, say } from "./stats.ts";

const RUN = randomBytes(4).toString("hex");

export interface RawPublishResult {
  /** "raw": plain publish; "gateway-like": with the msgID, header and expectation the gateway sends. */
  mode: "raw" | "gateway-like";
  concurrency: number;
  seconds: number;
  published: number;
  failed: number;
  perSec: number;
  payloadBytes: number;
  latencyMs: { p50: number; p99: number };
}

/** A payload shaped and sized like the gateway's envelope for a workspace create. */
function envelopeLike(userId: string, n: number): string {
  const uuid = () => crypto.randomUUID();
  return JSON.stringify({
    v: 1,
    operationId: `op-w-${randomBytes(12).toString("hex")}-${randomBytes(6).toString("hex")}`,
    actor: userId,
    idempotencyKey: `raw-${n}`,
    fingerprint: randomBytes(32).toString("hex"),
    acceptedAt: new Date().toISOString(),
    command: {
      type: "workspace.create",
      userId,
      workspaceId: uuid(),
      jobId: uuid(),
      projectName: `raw-${n}`,
      image: "a4c/base:latest",
    },
  });
}

/**
 * The gateway-like mode adds what the gateway asks of JetStream per write (deduplication id,
 * "no message on this subject yet", one header), so the gap between the two modes is the
 * price of that idempotency scheme and the gap to the gateway is the price of HTTP and auth.
 */
export async function rawPublishRate(
  s: BenchStack,
  concurrency: number,
  seconds: number,
  mode: RawPublishResult["mode"] = "raw",
): Promise<RawPublishResult> {
  const stream = `${s.namespace.toUpperCase()}BENCH${mode === "raw" ? "RAW" : "GWLIKE"}`;
  const subject = `${s.namespace}bench${mode === "raw" ? "raw" : "gwlike"}`;
  onCleanup("streams", `delete stream ${stream}`, () => s.jsm.streams.delete(stream).catch(() => false));
  await s.jsm.streams.add({
    name: stream,
    subjects: [`${subject}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_age: nanos(15 * 60_000),
    max_bytes: 2 * 1024 ** 3,
    // As the gateway's WRITES stream: the deduplication window is part of the cost of msgID.
    duplicate_window: nanos(120_000),
    allow_direct: true,
    num_replicas: 1,
  });
  const js = jetstream(s.nc);
  const payload = envelopeLike(s.user.id, 0);
  const latencies: number[] = [];
  let published = 0;
  let failed = 0;
  let n = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  // Closed loop per worker, like a wrk connection: the next publish starts when the ack arrives.
  const worker = async () => {
    while (performance.now() < end) {
      const i = n++;
      const t = performance.now();
      try {
        const to = `${subject}.${i.toString(36)}`;
        if (mode === "raw") await js.publish(to, payload, { timeout: 5_000 });
        else {
          const h = headers();
          h.set("A4C-Operation-Id", `op-${i}`);
          await js.publish(to, payload, {
            timeout: 5_000,
            msgID: `op-${RUN}-${i}`,
            expect: { lastSubjectSequence: 0 },
            headers: h,
          });
        }
        latencies.push(performance.now() - t);
        published++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  await s.jsm.streams.delete(stream).catch(() => false);
  const p = percentiles(latencies);
  say(`JetStream ${mode}: ${published} publishes acked in ${elapsed.toFixed(1)} s (${failed} failed)`);
  return {
    mode,
    concurrency,
    seconds: elapsed,
    published,
    failed,
    perSec: published / elapsed,
    payloadBytes: Buffer.byteLength(payload),
    latencyMs: { p50: p.p50, p99: p.p99 },
  };
}
