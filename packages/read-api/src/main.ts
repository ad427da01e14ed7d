import { hostname } from "node:os";
import { Authenticator, bootService, createSql, LISTEN_OPTIONS, natsCheck, postgresCheck } from "@a4c/shared";
import { createApp } from "./app.ts";
import { ReadCache } from "./cache.ts";
import { EntityService } from "./entities.ts";
import { loadEnv } from "./env.ts";
import { ChangeFeed } from "./feed.ts";
import { ImageViews } from "./images.ts";
import { JobEvents } from "./job-events.ts";
import { readMetrics } from "./metrics.ts";
import { OperatorViews } from "./operators.ts";
import { SamplingCircuitBreaker } from "./search/breaker.ts";
import { createSearchClient, ElasticsearchJobSearch } from "./search/elasticsearch.ts";
import { PostgresJobSearch } from "./search/postgres.ts";
import { JobSearchService } from "./search/service.ts";
import { CompletionWaiters, StatusService } from "./status.ts";

const env = loadEnv();
const { log, names, sql, nats, jsm, shutdown, closeLast } = await bootService("read-api", env);
let feed: ChangeFeed | null = null;
const feedLive = () => feed?.status().live ?? false;
const metrics = readMetrics(env.A4C_CDC_ENABLED ? feedLive : undefined);
// Without a live change feed nothing could invalidate a cached value: it is not used then.
const cache = new ReadCache(env.REDIS_URL, env.A4C_NAMESPACE, log, metrics, {
  ttlSeconds: env.A4C_CACHE_TTL_SECONDS,
  usable: feedLive,
});
const waiters = new CompletionWaiters(sql, env.A4C_WAIT_POLL_MS, feedLive);
nats.nc.subscribe(names.operationsSettled, {
  callback: (err, msg) => {
    if (err) return;
    try {
      waiters.wake(msg.json<string[]>());
    } catch {
      log.warn({ event: "settled.unreadable", subject: msg.subject });
    }
  },
});
if (env.A4C_CDC_ENABLED) {
  const instance = (env.A4C_INSTANCE_ID || `${hostname()}-${env.PORT}`).replace(/[^A-Za-z0-9_-]/g, "_");
  feed = new ChangeFeed(nats.nc, jsm, cache, (ids) => waiters.wake(ids), metrics, log, {
    stream: env.A4C_CDC_STREAM,
    prefix: env.A4C_CDC_PREFIX,
    durable: `${names.namespace}read-api-${instance}`,
    maxLagMs: env.A4C_CDC_MAX_LAG_MS,
  });
  feed.start();
}

const searchClient = createSearchClient(env.ELASTICSEARCH_URL, env.A4C_SEARCH_TIMEOUT_MS);
// The fallback's pool of its own: slow searches cannot take the connections entity and status
// reads need. Its statements are planned for their actual values every time: how selective a
// project, a status or a phrase is decides the plan, and postgres.js prepares every statement, so
// after five runs PostgreSQL would settle on one generic plan for all values (measured on
// 1,000,000 jobs: `project:… status:failed host` 27 ms with its own plan, 454 ms with the generic one).
const searchSql = createSql(env.DATABASE_URL, {
  max: env.A4C_SEARCH_FALLBACK_POOL,
  application: "read-api-search",
  settings: { plan_cache_mode: "force_custom_plan" },
});
const jobSearch = new JobSearchService(
  new ElasticsearchJobSearch(searchClient, env.A4C_SEARCH_ALIAS),
  new PostgresJobSearch(searchSql, {
    fullCountUpTo: env.A4C_SEARCH_FALLBACK_FULL_COUNT_UP_TO,
    exactUpTo: env.A4C_SEARCH_FALLBACK_EXACT_UP_TO,
    budgetMs: env.A4C_SEARCH_FALLBACK_COUNT_BUDGET_MS,
  }),
  new SamplingCircuitBreaker({
    failureRate: env.A4C_SEARCH_BREAKER_FAILURE_RATE,
    minimumVolume: env.A4C_SEARCH_BREAKER_MIN_VOLUME,
    windowMs: env.A4C_SEARCH_BREAKER_WINDOW_MS,
    openMs: env.A4C_SEARCH_BREAKER_OPEN_MS,
  }),
  metrics,
  log.child({ component: "search" }),
);

// Live job changes from PostgreSQL's notifications (migration 0010), on a connection of their own.
const jobEvents = new JobEvents(sql, log.child({ component: "job-events" }));
await jobEvents.start();

const app = createApp({
  auth: new Authenticator(env.A4C_ADMIN_TOKEN, sql),
  status: new StatusService(sql, jsm, names, cache, metrics),
  waiters,
  entities: new EntityService(sql, cache),
  operators: new OperatorViews(sql),
  images: new ImageViews(sql),
  metrics,
  log,
  maxWaitSeconds: env.A4C_MAX_WAIT_SECONDS,
  adminToken: env.A4C_ADMIN_TOKEN,
  metricsToken: env.A4C_METRICS_TOKEN,
  jobSearch,
  jobEvents,
  maxEventStreams: env.A4C_MAX_EVENT_STREAMS,
  // Reads are served while PostgreSQL and NATS answer; Redis only makes them faster. The change
  // feed is what lets the cache be trusted: its lag is part of being ready.
  ready: async () => ({
    postgres: await postgresCheck(sql),
    nats: natsCheck(nats),
    redis: { ok: true, detail: cache.connected ? "connected" : "down: reads fall back to PostgreSQL" },
    cdc: feed
      ? {
          ok: feed.status().live,
          detail: { ...feed.status(), maxLagMs: env.A4C_CDC_MAX_LAG_MS, flushOwed: cache.flushOwed },
        }
      : { ok: true, detail: "disabled: nothing is cached, waiters poll PostgreSQL" },
    // Search falls back to PostgreSQL: an open breaker is reported, never a reason to be unready.
    elasticsearch: { ok: true, detail: { breaker: jobSearch.breakerState, alias: env.A4C_SEARCH_ALIAS } },
  }),
}).listen({ port: env.PORT, hostname: env.HOST, ...LISTEN_OPTIONS });

log.info({ event: "read_api.listening", port: env.PORT, cdc: env.A4C_CDC_ENABLED ? env.A4C_CDC_STREAM : null });

// Open event streams end first, so stopping HTTP does not wait for them.
shutdown.register("job-events", () => jobEvents.stop());
shutdown.register("http", async () => {
  waiters.stop();
  await app.stop();
});
shutdown.register("cdc", async () => {
  await feed?.stop();
});
shutdown.register("redis", () => cache.close());
shutdown.register("elasticsearch", () => searchClient.close());
shutdown.register("postgres-search", () => searchSql.end({ timeout: 5 }));
closeLast();
