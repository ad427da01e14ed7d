import { problems } from "@a4c/shared";
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/**
 * Per-principal limit: a sustained rate per second plus a burst allowance over 10 s.
 * Kept in process memory, so each gateway instance enforces it on its own share of traffic.
 */
export class WriteRateLimiter {
  readonly #limiter: BurstyRateLimiter;

  constructor(perSecond: number, burst: number) {
    this.#limiter = new BurstyRateLimiter(
      new RateLimiterMemory({ keyPrefix: "rate", points: perSecond, duration: 1 }),
      new RateLimiterMemory({ keyPrefix: "burst", points: Math.max(burst, 1), duration: 10 }),
    );
  }

  /** @throws HttpProblem 429 with Retry-After when the principal is over its limit. */
  async consume(principal: string): Promise<void> {
    try {
      await this.#limiter.consume(principal);
    } catch (res) {
      if (res instanceof RateLimiterRes)
        throw problems.tooManyRequests(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      throw res;
    }
  }
}
