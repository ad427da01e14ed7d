export {
  type Decision,
  DLQ_HEADER,
  deadLetterHeaders,
  decide,
  type GatewayAnswer,
  idempotencyKey,
  parseBuildMessage,
  parseRetryAfter,
  retryDelay,
} from "./decide.ts";
export { CiConsumerEnv, loadEnv } from "./env.ts";
export { ciTopics, topicSpecs } from "./topics.ts";
