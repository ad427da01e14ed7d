import type { Logger, Principal } from "@a4c/shared";
import type { ReadMetrics } from "../metrics.ts";
import type { JobSearch, JobSearchPage } from "./backend.ts";
import { type BreakerState, BrokenCircuitError, breakerStateValue, type CircuitBreaker } from "./breaker.ts";
import { type JobQuery, toSpec } from "./query.ts";

export interface JobSearchAnswer extends JobSearchPage {
  source: "elasticsearch" | "postgres";
  degraded: boolean;
}

/**
 * Elasticsearch first, behind the circuit breaker; PostgreSQL answers with the same filters and
 * shape when the breaker is open or Elasticsearch fails, marked `degraded`.
 */
export class JobSearchService {
  constructor(
    private readonly primary: JobSearch,
    private readonly fallback: JobSearch,
    private readonly breaker: CircuitBreaker,
    private readonly metrics: ReadMetrics,
    private readonly log: Logger,
  ) {
    metrics.searchBreaker.set(breakerStateValue(breaker.state));
    breaker.onStateChange((state) => {
      metrics.searchBreaker.set(breakerStateValue(state));
      log.warn({ event: "search.breaker", state });
    });
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  async search(query: JobQuery, principal: Principal): Promise<JobSearchAnswer> {
    const spec = toSpec(query, principal);
    try {
      const page = await this.breaker.execute(() => this.primary.search(spec));
      this.metrics.searchSource.inc({ source: "elasticsearch" });
      return { ...page, source: "elasticsearch", degraded: false };
    } catch (err) {
      const reason = err instanceof BrokenCircuitError ? "breaker_open" : "elasticsearch_error";
      if (reason === "elasticsearch_error") this.log.warn({ event: "search.fallback", reason, err });
      this.metrics.searchSource.inc({ source: "postgres" });
      return { ...(await this.fallback.search(spec)), source: "postgres", degraded: true };
    }
  }
}
