export { claimFor, permanentFailure } from "./apply.ts";
export { BatchProcessor, retryDelayMs } from "./batch.ts";
export { loadEnv, ProcessorEnv } from "./env.ts";
