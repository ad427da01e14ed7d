import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../logger.ts";

/** A NATS connection and whether it is connected right now (false while it reconnects). */
export interface Nats {
  nc: NatsConnection;
  readonly connected: boolean;
}

/**
 * Connects once and keeps reconnecting forever: a NATS outage must never need a service restart.
 * The first connection is also retried, so services can start before NATS does.
 */
export async function connectNats(url: string, name: string, log: Logger): Promise<Nats> {
  const nc = await connect({
    servers: url.split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    waitOnFirstConnect: true,
    pingInterval: 5_000,
    maxPingOut: 2,
  });
  const state = { nc, connected: true };
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "staleConnection") state.connected = false;
      if (s.type === "reconnect") state.connected = true;
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") {
        log.warn({ event: `nats.${s.type}`, server: "server" in s ? s.server : undefined });
      }
    }
  })().catch(() => {});
  return state;
}

export type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
export { jetstream, jetstreamManager, type NatsConnection };
