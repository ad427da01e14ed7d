export { createApp, type ReadApiDeps } from "./app.ts";
export { decodeCursor, EntityService, encodeCursor } from "./entities.ts";
export { loadEnv, ReadApiEnv } from "./env.ts";
export { CompletionWaiters, StatusService } from "./status.ts";
