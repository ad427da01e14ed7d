import { describe, expect, test } from "bun:test";
import { BrokenCircuitError, SamplingCircuitBreaker } from "./breaker.ts";

const ok = () => Promise.resolve("ok");
const fail = () => Promise.reject(new Error("es down"));

/** Real time, short windows: cockatiel keeps its own clock. */
function breaker() {
  const b = new SamplingCircuitBreaker({ failureRate: 0.5, minimumVolume: 4, windowMs: 1_000, openMs: 150 });
  const seen: string[] = [];
  b.onStateChange((s) => seen.push(s));
  return { b, seen };
}

describe("SamplingCircuitBreaker (cockatiel)", () => {
  test("stays closed below the minimum volume, opens at the failure rate", async () => {
    const { b } = breaker();
    for (let i = 0; i < 2; i++) await b.execute(fail).catch(() => {});
    expect(b.state).toBe("closed");
    for (let i = 0; i < 4; i++) await b.execute(fail).catch(() => {});
    expect(b.state).toBe("open");
    await expect(b.execute(ok)).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  test("a low failure rate keeps it closed", async () => {
    const { b } = breaker();
    await b.execute(fail).catch(() => {});
    for (let i = 0; i < 9; i++) await b.execute(ok);
    expect(b.state).toBe("closed");
  });

  test("after the open wait one probe goes through: failure reopens, success closes", async () => {
    const { b, seen } = breaker();
    for (let i = 0; i < 6; i++) await b.execute(fail).catch(() => {});
    expect(b.state).toBe("open");
    await Bun.sleep(200);
    await b.execute(fail).catch(() => {});
    expect(b.state).toBe("open");
    await Bun.sleep(200);
    expect(await b.execute(ok)).toBe("ok");
    expect(b.state).toBe("closed");
    expect(seen).toEqual(["open", "half-open", "open", "half-open", "closed"]);
  });
});
