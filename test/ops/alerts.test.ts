/**
 * Alerts, live: Prometheus (from Debian's package, started through the launcher's component)
 * scrapes a read-api and an es-sync with the metrics token and evaluates infra/monitoring/alerts.yml;
 * Alertmanager posts what fires to a webhook receiver this test runs. Elasticsearch is stopped:
 * the read-api answers searches from PostgreSQL, and "Search fallback activated" reaches the
 * receiver; es-sync reports the cluster unreachable.
 *
 * Isolation: a PRIVATE Elasticsearch node (as in the Elasticsearch fault test), a private
 * database, Debezium, topic and alias, and Prometheus/Alertmanager on free ports under the test's
 * directory. The launcher's node and monitoring are never touched.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ElasticsearchServer } from "../../infra/components/elasticsearch.ts";
import { AlertmanagerServer, PrometheusServer } from "../../infra/components/monitoring.ts";
import type { ServiceProcess } from "../../infra/components/service.ts";
import { LOCAL } from "../../infra/lib/paths.ts";
import { metricValue } from "../helpers/ops.ts";
import { freePort } from "../helpers/ports.ts";
import { type SearchEnv, search, startSearchEnv, until } from "../helpers/search.ts";

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const run = randomBytes(3).toString("hex");
const dir = join(LOCAL, "test", `alerts-${run}`);
const metricsToken = randomBytes(18).toString("base64url");
const received: Array<{ receiver: string; status: string; alerts: WebhookAlert[] }> = [];
let receiver: ReturnType<typeof Bun.serve>;
let es: ElasticsearchServer;
let env: SearchEnv;
let sync: ServiceProcess;
let api: ServiceProcess;
let prometheus: PrometheusServer;
let alertmanager: AlertmanagerServer;

const firing = (name: string) =>
  received.flatMap((b) => b.alerts).filter((a) => a.labels.alertname === name && a.status === "firing");

async function prometheusApi<T>(path: string): Promise<T> {
  const r = await fetch(`${prometheus.url}/api/v1/${path}`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { data: T }).data;
}

beforeAll(async () => {
  receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: await freePort(),
    async fetch(req) {
      received.push((await req.json()) as (typeof received)[number]);
      return new Response("ok");
    },
  });
  const shared = new ElasticsearchServer(join(LOCAL, "elasticsearch"));
  es = new ElasticsearchServer(join(dir, "es"), await freePort(), {
    transportPort: await freePort(),
    heap: "384m",
    home: shared.home,
  });
  await es.start();
  env = await startSearchEnv("alerts", {
    elasticsearchUrl: es.url,
    env: { A4C_METRICS_TOKEN: metricsToken, ES_SYNC_WATCH_INTERVAL_MS: "1000" },
  });
  sync = await env.esSync(1);
  await sync.start(90_000);
  api = await env.readApi("api", {
    env: {
      A4C_METRICS_TOKEN: metricsToken,
      A4C_SEARCH_TIMEOUT_MS: "500",
      A4C_SEARCH_BREAKER_MIN_VOLUME: "2",
      A4C_SEARCH_BREAKER_OPEN_MS: "1000",
    },
  });
  await api.start();
  alertmanager = new AlertmanagerServer(join(dir, "alertmanager"), await freePort(), {
    webhookUrl: `http://127.0.0.1:${receiver.port}/alerts`,
    groupWaitS: 1,
    groupIntervalS: 1,
  });
  await alertmanager.start();
  prometheus = new PrometheusServer(
    join(dir, "prometheus"),
    await freePort(),
    [
      { service: "read-api", url: api.url },
      { service: "es-sync", url: sync.url },
    ],
    { alertmanagerUrl: alertmanager.url, metricsToken, scrapeIntervalS: 1, evaluationIntervalS: 1 },
  );
  await prometheus.start();
}, 600_000);

afterAll(async () => {
  await prometheus?.stop();
  await alertmanager?.stop();
  receiver?.stop(true);
  await env?.stop();
  await es?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

test("Prometheus scrapes both services with the metrics token; nothing fires while Elasticsearch is up", async () => {
  await until(
    "both targets up",
    async () => {
      const t = await prometheusApi<{ activeTargets: Array<{ labels: { job: string }; health: string }> }>("targets");
      return t.activeTargets.length === 2 && t.activeTargets.every((x) => x.health === "up");
    },
    30_000,
  );
  for (let i = 0; i < 12; i++) {
    const r = await search(api, env.adminToken, {});
    expect({ status: r.status, source: r.body.source }).toEqual({ status: 200, source: "elasticsearch" });
  }
  expect(await metricValue(sync, "a4c_elasticsearch_cluster_health")).toBe(0);
  // Every rule is loaded and healthy (a broken expression shows as health "err").
  const rules = await prometheusApi<{ groups: Array<{ rules: Array<{ name: string; health: string }> }> }>("rules");
  const loaded = rules.groups.flatMap((g) => g.rules);
  expect(loaded.length).toBeGreaterThanOrEqual(13);
  expect(loaded.filter((r) => r.health !== "ok")).toEqual([]);
  await Bun.sleep(3_000);
  expect(firing("SearchFallbackActivated")).toEqual([]);
}, 120_000);

test("Elasticsearch stopped: searches fall back, and 'fallback activated' reaches the webhook through Alertmanager", async () => {
  await es.stop();
  const started = Date.now();
  // More than 10 searches within the minute, each answered from PostgreSQL.
  for (let i = 0; i < 14; i++) {
    const r = await search(api, env.adminToken, { q: `status:failed n${i}` });
    expect(r.status).toBe(200);
  }
  const last = await search(api, env.adminToken, {});
  expect({ status: last.status, source: last.body.source, degraded: last.body.degraded }).toEqual({
    status: 200,
    source: "postgres",
    degraded: true,
  });
  await until("the alert at the webhook", async () => firing("SearchFallbackActivated").length > 0, 60_000);
  const alert = firing("SearchFallbackActivated")[0];
  expect(alert?.labels).toMatchObject({ alertname: "SearchFallbackActivated", severity: "warning" });
  expect(alert?.annotations.summary).toMatch(/^Search fallback activated: \d+ searches answered from PostgreSQL/);
  expect(alert?.annotations.runbook).toBe("docs/operations.md#elasticsearch-down-or-frozen");
  console.log(
    `fallback alert at the webhook ${((Date.now() - started) / 1000).toFixed(1)} s after Elasticsearch stopped`,
  );
  // es-sync saw the cluster go: unreachable (3); the rule for it waits 2 minutes, its value is here.
  await until(
    "es-sync to report the cluster unreachable",
    async () => (await metricValue(sync, "a4c_elasticsearch_cluster_health")) === 3,
    20_000,
  );
  const pending = await prometheusApi<{ alerts: Array<{ labels: { alertname: string }; state: string }> }>("alerts");
  expect(pending.alerts.map((a) => `${a.labels.alertname}:${a.state}`)).toContain(
    "ElasticsearchClusterUnhealthy:pending",
  );
}, 180_000);
