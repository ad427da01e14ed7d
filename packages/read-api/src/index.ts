export { createApp, type ReadApiDeps } from "./app.ts";
export { ReadCache } from "./cache.ts";
export { EntityService } from "./entities.ts";
export { loadEnv, ReadApiEnv } from "./env.ts";
export { ChangeFeed } from "./feed.ts";
export { readMetrics } from "./metrics.ts";
export { CompletionWaiters, StatusService } from "./status.ts";
