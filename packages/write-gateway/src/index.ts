export { AcceptService } from "./accept.ts";
export { createApp, type GatewayDeps } from "./app.ts";
export { GatewayEnv, loadEnv } from "./env.ts";
