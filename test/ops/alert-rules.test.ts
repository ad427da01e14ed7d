/**
 * The alert rules as files: promtool (Debian's, beside Prometheus) accepts them and passes the
 * unit tests of infra/monitoring/alerts.test.yml, which give every rule a case that fires and one
 * that does not; every rule's runbook link lands on a section of docs/operations.md; and the
 * Prometheus config the launcher writes scrapes every service the launcher starts.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALERT_RULE_TESTS, ALERT_RULES, prometheusConfig } from "../../infra/components/monitoring.ts";
import { ROOT } from "../../infra/lib/paths.ts";
import { stack } from "../../infra/stack.ts";

function promtool(args: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(["/usr/bin/promtool", ...args], { cwd: join(ROOT, "infra", "monitoring") });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

const rulesText = readFileSync(ALERT_RULES, "utf8");
const alertNames = [...rulesText.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]);

test("promtool accepts the rules and every rule's unit tests pass", () => {
  const check = promtool(["check", "rules", ALERT_RULES]);
  expect(check).toMatchObject({ code: 0 });
  expect(check.out).toContain(`SUCCESS: ${alertNames.length} rules found`);
  const unit = promtool(["test", "rules", ALERT_RULE_TESTS]);
  expect(unit.out).toContain("SUCCESS");
  expect(unit.code).toBe(0);
});

test("seed 003's alerts and ours are all there, each with a firing case in the unit tests", () => {
  expect(alertNames).toEqual(
    expect.arrayContaining([
      "ElasticsearchClusterUnhealthy",
      "SearchSyncLagging",
      "SearchFallbackActivated",
      "SearchDlqOverflowing",
      "KafkaConsumerLagHigh",
      "ReplicationSlotLagHigh",
      "CdcFeedNotLive",
      "WritesDlqGrowing",
      "ProvisioningJobsFailing",
      "HostUnreachable",
    ]),
  );
  const tests = readFileSync(ALERT_RULE_TESTS, "utf8");
  for (const name of alertNames) {
    // A case that expects the alert (exp_alerts with at least one entry) under its name.
    const firingCase = new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`);
    expect({ name, tested: firingCase.test(tests) }).toEqual({ name, tested: true });
  }
});

test("every runbook link names a section of docs/operations.md", () => {
  const slug = (h: string) =>
    h
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, "")
      .replace(/ /g, "-");
  const headings = new Set(
    readFileSync(join(ROOT, "docs", "operations.md"), "utf8")
      .split("\n")
      .filter((l) => /^#{2,4} /.test(l))
      .map((l) => slug(l.replace(/^#+ /, ""))),
  );
  const links = [...rulesText.matchAll(/runbook: docs\/operations\.md#([\w-]+)/g)].map((m) => m[1]);
  expect(links.length).toBe(alertNames.length);
  for (const anchor of links) expect({ anchor, found: headings.has(anchor ?? "") }).toEqual({ anchor, found: true });
});

test("the launcher's Prometheus scrapes every service it starts, with the metrics token; promtool accepts its config", () => {
  const s = stack();
  const { prometheus, alertmanager } = s.monitoring;
  const services = Object.values(s.services);
  expect(prometheus.targets.map((t) => t.service).sort()).toEqual(services.map((svc) => svc.name).sort());
  expect(prometheus.targets.map((t) => new URL(t.url).port).sort()).toEqual(
    services.map((svc) => String(svc.port)).sort(),
  );
  expect(prometheus.options.metricsToken).toBe(s.env.A4C_METRICS_TOKEN);
  for (const svc of services) expect(svc.env.A4C_METRICS_TOKEN).toBe(s.env.A4C_METRICS_TOKEN);
  expect(prometheus.options.alertmanagerUrl).toBe(alertmanager.url);

  const dir = mkdtempSync(join(tmpdir(), "a4c-prom-"));
  try {
    const credentials = join(dir, "token");
    writeFileSync(credentials, "x");
    const file = join(dir, "prometheus.yml");
    writeFileSync(file, JSON.stringify(prometheusConfig(prometheus.targets, prometheus.options, credentials)));
    const check = promtool(["check", "config", file]);
    expect(check).toMatchObject({ code: 0 });
    expect(check.out).toContain(`SUCCESS: ${alertNames.length} rules found`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
