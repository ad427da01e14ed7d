import {
  CircuitState,
  BrokenCircuitError as CockatielBrokenCircuitError,
  circuitBreaker,
  handleAll,
  SamplingBreaker,
} from "cockatiel";

/**
 * The circuit breaker guarding Elasticsearch: cockatiel's sampling breaker behind the small
 * `CircuitBreaker` interface the search service depends on.
 *
 * closed → open: over the last `windowMs`, enough calls (`minimumVolume`) with a failure share of
 * at least `failureRate`. open → half-open after `openMs`: the next call is a probe; its success
 * closes the breaker, its failure opens it again.
 */
export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  failureRate: number;
  minimumVolume: number;
  windowMs: number;
  openMs: number;
}

/** The call was not made: the breaker is open (or a half-open probe is already running). */
export class BrokenCircuitError extends Error {
  constructor(options?: ErrorOptions) {
    super("circuit open: the call was not attempted", options);
    this.name = "BrokenCircuitError";
  }
}

export interface CircuitBreaker {
  readonly state: BreakerState;
  execute<T>(fn: () => Promise<T>): Promise<T>;
  onStateChange(listener: (state: BreakerState) => void): void;
}

/** Numeric state for a gauge: 0 closed, 1 half-open, 2 open. */
export const breakerStateValue = (s: BreakerState): number => (s === "closed" ? 0 : s === "half-open" ? 1 : 2);

function fromCockatiel(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return "closed";
    case CircuitState.HalfOpen:
      return "half-open";
    case CircuitState.Open:
    case CircuitState.Isolated:
      return "open";
  }
}

export class SamplingCircuitBreaker implements CircuitBreaker {
  readonly #policy;

  constructor(opts: BreakerOptions) {
    this.#policy = circuitBreaker(handleAll, {
      halfOpenAfter: opts.openMs,
      breaker: new SamplingBreaker({
        threshold: opts.failureRate,
        duration: opts.windowMs,
        // cockatiel counts volume as a rate; the same minimum number of calls per window.
        minimumRps: opts.minimumVolume / (opts.windowMs / 1000),
      }),
    });
  }

  get state(): BreakerState {
    return fromCockatiel(this.#policy.state);
  }

  onStateChange(listener: (state: BreakerState) => void): void {
    this.#policy.onStateChange((s) => listener(fromCockatiel(s)));
  }

  async execute<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.#policy.execute(() => fn());
    } catch (err) {
      if (err instanceof CockatielBrokenCircuitError) throw new BrokenCircuitError({ cause: err });
      throw err;
    }
  }
}
