/**
 * The write-gateway as the ci-consumer calls it: `POST /v1/images/builds` with the message's bytes
 * and its Idempotency-Key, bounded in time; and whether the gateway answers at all (/ready).
 */
import type { GatewayAnswer } from "./decide.ts";

export interface GatewayOptions {
  url: string;
  token: string;
  timeoutMs: number;
}

export class GatewayClient {
  constructor(private readonly o: GatewayOptions) {}

  async submitBuild(body: Uint8Array, idempotencyKey: string): Promise<GatewayAnswer> {
    let r: Response;
    try {
      r = await fetch(`${this.o.url}/v1/images/builds`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.o.token}`,
          "idempotency-key": idempotencyKey,
          "content-type": "application/json",
        },
        body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
    } catch (err) {
      return { kind: "unreachable", error: describeFetchError(err) };
    }
    let text = "";
    try {
      text = await r.text();
    } catch (err) {
      // The answer was cut: whether the request was stored is unknown; the same key settles it.
      return { kind: "unreachable", error: `answer cut: ${describeFetchError(err)}` };
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return {
      kind: "answer",
      status: r.status,
      retryAfter: r.headers.get("retry-after"),
      replayed: r.headers.get("idempotent-replayed") === "true",
      body: parsed,
    };
  }

  /** The gateway answers /health (it may still refuse writes: that is its own /ready). */
  async reachable(timeoutMs = 2_000): Promise<boolean> {
    try {
      const r = await fetch(`${this.o.url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      await r.body?.cancel();
      return r.ok;
    } catch {
      return false;
    }
  }
}

/** Which way the call failed (refused, timed out, reset), without the URL or headers. */
function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "TimeoutError" || err.name === "AbortError") return "gateway timed out";
    const code = (err as { code?: string }).code;
    return code ? `gateway unreachable (${code})` : `gateway unreachable (${err.message})`;
  }
  return "gateway unreachable";
}
