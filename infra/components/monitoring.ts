/**
 * Prometheus and Alertmanager from Debian's packages, run from .local/ on the launcher's ports.
 * Prometheus scrapes every service's /metrics (with the metrics token) and evaluates
 * infra/monitoring/alerts.yml; Alertmanager groups what fires and posts it to a webhook.
 * The packages' own services are never started (see aptInstall's keepServicesStopped).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../lib/paths.ts";
import { aptInstall, assertPortFree, isAlive, readPid, spawnDetached, stopPid, waitUntil } from "../lib/shell.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

export const ALERT_RULES = join(ROOT, "infra", "monitoring", "alerts.yml");
export const ALERT_RULE_TESTS = join(ROOT, "infra", "monitoring", "alerts.test.yml");

/** One service to scrape: its job name (`a4c-<service>`) and its base URL. */
export interface ScrapeTarget {
  service: string;
  url: string;
}

export interface PrometheusOptions {
  alertmanagerUrl: string;
  /** The bearer token that opens /metrics (written to a file only the owner reads). */
  metricsToken: string;
  scrapeIntervalS?: number;
  evaluationIntervalS?: number;
  rulesFile?: string;
  retention?: string;
}

/** prometheus.yml (as JSON, which YAML reads): one job per service, the rules, the Alertmanager. */
export function prometheusConfig(targets: ScrapeTarget[], o: PrometheusOptions, credentialsFile: string) {
  const interval = `${o.scrapeIntervalS ?? 15}s`;
  return {
    global: { scrape_interval: interval, evaluation_interval: `${o.evaluationIntervalS ?? 15}s` },
    rule_files: [o.rulesFile ?? ALERT_RULES],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(o.alertmanagerUrl).host] }] }] },
    scrape_configs: targets.map((t) => ({
      job_name: `a4c-${t.service}`,
      metrics_path: "/metrics",
      scheme: new URL(t.url).protocol.replace(":", ""),
      authorization: { type: "Bearer", credentials_file: credentialsFile },
      static_configs: [{ targets: [new URL(t.url).host] }],
    })),
  };
}

export interface AlertmanagerOptions {
  /** Where alerts are posted (Alertmanager's webhook format); none keeps them in its UI and API. */
  webhookUrl?: string;
  groupWaitS?: number;
  groupIntervalS?: number;
  repeatIntervalS?: number;
}

export function alertmanagerConfig(o: AlertmanagerOptions) {
  const receiver = o.webhookUrl
    ? { name: "webhook", webhook_configs: [{ url: o.webhookUrl, send_resolved: true }] }
    : { name: "none" };
  return {
    route: {
      receiver: receiver.name,
      group_by: ["alertname"],
      group_wait: `${o.groupWaitS ?? 30}s`,
      group_interval: `${o.groupIntervalS ?? 300}s`,
      repeat_interval: `${o.repeatIntervalS ?? 4 * 3600}s`,
    },
    receivers: [receiver],
  };
}

const PACKAGES = ["prometheus", "prometheus-alertmanager"];

/** A daemon from the monitoring packages: config written, started detached, ready at /-/ready. */
abstract class MonitoringDaemon implements Component {
  abstract readonly name: string;
  protected abstract readonly binary: string;
  protected abstract config(): unknown;
  protected abstract args(configFile: string): string[];

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  install(): void {
    aptInstall(PACKAGES, { keepServicesStopped: true });
  }

  get #pidFile(): string {
    return join(this.dir, `${this.name}.pid`);
  }

  async start(): Promise<void> {
    this.install();
    mkdirSync(join(this.dir, "data"), { recursive: true });
    const configFile = join(this.dir, `${this.name}.yml`);
    writeFileSync(configFile, `${JSON.stringify(this.config(), null, 2)}\n`);
    if (!isAlive(readPid(this.#pidFile))) {
      await assertPortFree(this.port, this.name);
      spawnDetached(this.binary, this.args(configFile), {
        logFile: join(this.dir, `${this.name}.log`),
        pidFile: this.#pidFile,
      });
    } else {
      // Running already: it reads the config written above again.
      process.kill(readPid(this.#pidFile) as number, "SIGHUP");
    }
    await waitUntil(`${this.name} on ${this.port}`, () => this.isReady(), 30_000);
  }

  async isReady(): Promise<boolean> {
    const r = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    return r?.ok ?? false;
  }

  async stop(): Promise<void> {
    await stopPid(this.#pidFile);
  }

  async status(): Promise<ComponentStatus> {
    const pid = readPid(this.#pidFile);
    return { running: isAlive(pid) && (await this.isReady()), pid, rssMb: rssMb(pid), detail: this.url };
  }
}

export class PrometheusServer extends MonitoringDaemon {
  readonly name = "prometheus";
  protected readonly binary = "/usr/bin/prometheus";

  constructor(
    dir: string,
    port: number,
    readonly targets: ScrapeTarget[],
    readonly options: PrometheusOptions,
  ) {
    super(dir, port);
  }

  protected config() {
    const credentials = join(this.dir, "metrics-token");
    writeFileSync(credentials, this.options.metricsToken, { mode: 0o600 });
    return prometheusConfig(this.targets, this.options, credentials);
  }

  protected args(configFile: string): string[] {
    return [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(this.dir, "data")}`,
      `--storage.tsdb.retention.time=${this.options.retention ?? "15d"}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
    ];
  }
}

export class AlertmanagerServer extends MonitoringDaemon {
  readonly name = "alertmanager";
  protected readonly binary = "/usr/bin/prometheus-alertmanager";

  constructor(
    dir: string,
    port: number,
    readonly options: AlertmanagerOptions = {},
  ) {
    super(dir, port);
  }

  protected config() {
    return alertmanagerConfig(this.options);
  }

  protected args(configFile: string): string[] {
    return [
      `--config.file=${configFile}`,
      `--storage.path=${join(this.dir, "data")}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      // A single instance: no gossip port (its default, 9094, is not ours to take).
      "--cluster.listen-address=",
    ];
  }
}
