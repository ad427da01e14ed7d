/**
 * The whole system as a client meets it, per test file: a database with its own Debezium → Kafka
 * topic, es-sync and Elasticsearch alias (search.ts); gateway, processor and read-api on it
 * (stack.ts), the read-api reaching Elasticsearch through a relay a test can cut; a provisioner on
 * the launcher's three hosts (provision.ts); and the front door (the dashboard server) that the
 * browser and the CLI talk to. One admin token opens every service.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ServiceProcess } from "../../infra/components/service.ts";
import { PORTS, ROOT } from "../../infra/lib/paths.ts";
import { freePort } from "./ports.ts";
import { type ProvisionStack, startProvisionStack } from "./provision.ts";
import { type SearchEnv, startSearchEnv } from "./search.ts";
import { TcpProxy } from "./tcp-proxy.ts";

export interface ClientStack {
  p: ProvisionStack;
  search: SearchEnv;
  esSync: ServiceProcess;
  provisioner: ServiceProcess;
  dashboard: ServiceProcess;
  /** The read-api's way to Elasticsearch: `cut()` makes search fall back to PostgreSQL. */
  elasticsearch: TcpProxy;
  /** The front door: dashboard page and the whole API. */
  url: string;
  adminToken: string;
  stop(): Promise<void>;
}

export async function startClientStack(label: string, env: Record<string, string> = {}): Promise<ClientStack> {
  const search = await startSearchEnv(label);
  const elasticsearch = await new TcpProxy(PORTS.elasticsearch).start();
  const p = await startProvisionStack(label, {
    databaseUrl: search.databaseUrl,
    env: {
      ELASTICSEARCH_URL: elasticsearch.url,
      A4C_SEARCH_ALIAS: search.alias,
      // A cut relay is noticed after a few searches and looked at again within a second.
      A4C_SEARCH_TIMEOUT_MS: "1000",
      A4C_SEARCH_BREAKER_MIN_VOLUME: "2",
      A4C_SEARCH_BREAKER_OPEN_MS: "1000",
      ...env,
    },
  });
  const adminToken = p.stack.adminToken;
  const esSync = await search.esSync(1, { A4C_ADMIN_TOKEN: adminToken });
  const provisioner = await p.provisioner();
  await Promise.all([esSync.start(120_000), provisioner.start()]);
  const port = await freePort();
  const dir = join(p.stack.dir, "dashboard");
  mkdirSync(dir, { recursive: true });
  const dashboard = new ServiceProcess("dashboard", ROOT, dir, dir, port, {
    A4C_ADMIN_TOKEN: adminToken,
    A4C_GATEWAY_URL: p.stack.gateway.url,
    A4C_READ_API_URL: p.stack.readApi.url,
    A4C_PROCESSOR_URL: p.stack.processor.url,
    A4C_ES_SYNC_URL: esSync.url,
    A4C_PROVISIONER_URL: provisioner.url,
    A4C_LOG_LEVEL: "info",
    PORT: String(port),
  });
  await dashboard.start();
  return {
    p,
    search,
    esSync,
    provisioner,
    dashboard,
    elasticsearch,
    url: dashboard.url,
    adminToken,
    async stop() {
      await dashboard.stop().catch(() => {});
      await p.stop().catch(() => {});
      await search.stop().catch(() => {});
      await elasticsearch.cut();
    },
  };
}
