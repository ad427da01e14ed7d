export { NatsServer } from "./components/nats.ts";
export { PostgresServer, postgresBinDir } from "./components/postgres.ts";
export { RedisServer } from "./components/redis.ts";
export { ServiceProcess } from "./components/service.ts";
export * from "./lib/paths.ts";
export * from "./lib/shell.ts";
export { stack } from "./stack.ts";
