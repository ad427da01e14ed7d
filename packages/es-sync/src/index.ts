export { classifyItem, type ItemOutcome } from "./bulk-result.ts";
export { DELETED_VERSION, planOps, toJobDocument } from "./documents.ts";
export { EsSyncEnv, loadEnv } from "./env.ts";
export { type JobChange, newestPerJob, parseJobChange } from "./events.ts";
export { diffVersions, idsToRepair, type ReconcileDiff } from "./reconcile-diff.ts";
export { type RetryMessage, routeFailure } from "./retry.ts";
export { syncTopics } from "./topics.ts";
