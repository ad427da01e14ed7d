export {
  ElasticsearchServer,
  ES_DEFAULT_HTTP_PORT,
  ES_DEFAULT_TRANSPORT_PORT,
  ES_VERSION,
} from "./components/elasticsearch.ts";
export { NatsServer } from "./components/nats.ts";
export { PostgresServer, postgresBinDir } from "./components/postgres.ts";
export { RedisServer } from "./components/redis.ts";
export { ServiceProcess } from "./components/service.ts";
export * from "./lib/paths.ts";
export * from "./lib/shell.ts";
export * from "./lib/ssh-keys.ts";
export { stack } from "./stack.ts";
