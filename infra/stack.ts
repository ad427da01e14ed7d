import { join } from "node:path";
import { debeziumToKafka, debeziumToNats } from "./components/debezium.ts";
import { dockerHosts } from "./components/docker-host.ts";
import { ElasticsearchServer } from "./components/elasticsearch.ts";
import { KafkaServer } from "./components/kafka.ts";
import { AlertmanagerServer, PrometheusServer } from "./components/monitoring.ts";
import { NatsServer } from "./components/nats.ts";
import { PostgresServer } from "./components/postgres.ts";
import { RedisServer } from "./components/redis.ts";
import { ServiceProcess } from "./components/service.ts";
import {
  adminToken,
  DATABASE_NAME,
  databaseUrl,
  elasticsearchUrl,
  LOCAL,
  LOGS,
  metricsToken,
  natsUrl,
  PORTS,
  ROOT,
  RUN,
  redisUrl,
  tokenSecret,
} from "./lib/paths.ts";
import { ensureClientKey } from "./lib/ssh-keys.ts";

/** The default topology `npm start` runs: infrastructure first, then our services. */
export function stack() {
  const postgres = new PostgresServer(join(LOCAL, "postgres"), PORTS.postgres);
  const nats = new NatsServer(join(LOCAL, "nats"), PORTS.nats, PORTS.natsMonitor);
  const redis = new RedisServer(join(LOCAL, "redis"), PORTS.redis);
  const elasticsearch = new ElasticsearchServer(join(LOCAL, "elasticsearch"), PORTS.elasticsearch, {
    transportPort: PORTS.elasticsearchTransport,
  });
  const common = {
    DATABASE_URL: databaseUrl(DATABASE_NAME),
    NATS_URL: natsUrl(),
    REDIS_URL: redisUrl(),
    ELASTICSEARCH_URL: elasticsearchUrl(),
    KAFKA_BROKERS: `127.0.0.1:${PORTS.kafka}`,
    A4C_ADMIN_TOKEN: adminToken(),
    A4C_TOKEN_SECRET: tokenSecret(),
    A4C_METRICS_TOKEN: metricsToken(),
    // The provisioner logs in to the hosts with the key the launcher made for them.
    A4C_SSH_KEY: join(LOCAL, "ssh", "id_ed25519"),
  };
  const kafka = new KafkaServer(join(LOCAL, "kafka"), PORTS.kafka, PORTS.kafkaController);
  const cdcBase = { distDir: join(LOCAL, "debezium", "dist"), postgresPort: PORTS.postgres, database: DATABASE_NAME };
  const debeziumNats = debeziumToNats({
    ...cdcBase,
    dir: join(LOCAL, "debezium", "nats"),
    httpPort: PORTS.debeziumNats,
    natsUrl: natsUrl(),
  });
  const debeziumKafka = debeziumToKafka({
    ...cdcBase,
    dir: join(LOCAL, "debezium", "kafka"),
    httpPort: PORTS.debeziumKafka,
    brokers: kafka.brokers,
  });
  const hosts = dockerHosts(LOCAL, PORTS.hostSsh);
  const service = (name: string, port: number) =>
    new ServiceProcess(name, ROOT, RUN, LOGS, port, { ...common, PORT: String(port) });
  const services = {
    writeProcessor: service("write-processor", PORTS.processor),
    writeGateway: service("write-gateway", PORTS.gateway),
    readApi: service("read-api", PORTS.readApi),
    esSync: service("es-sync", PORTS.esSync),
    // Its key for the hosts: made with the simulated hosts by the launcher, here where there are none.
    provisioner: new ServiceProcess(
      "provisioner",
      ROOT,
      RUN,
      LOGS,
      PORTS.provisioner,
      { ...common, PORT: String(PORTS.provisioner) },
      () => ensureClientKey(join(LOCAL, "ssh")),
    ),
    // Kafka `ci.builds` → the gateway's POST /v1/images/builds; after the gateway (its /ready needs it).
    ciConsumer: new ServiceProcess("ci-consumer", ROOT, RUN, LOGS, PORTS.ciConsumer, {
      ...common,
      A4C_GATEWAY_URL: `http://127.0.0.1:${PORTS.gateway}`,
      PORT: String(PORTS.ciConsumer),
    }),
    // The front door: the dashboard and the API on one origin (and the CLI's default URL).
    dashboard: new ServiceProcess("dashboard", ROOT, RUN, LOGS, PORTS.dashboard, {
      A4C_ADMIN_TOKEN: common.A4C_ADMIN_TOKEN,
      A4C_METRICS_TOKEN: common.A4C_METRICS_TOKEN,
      A4C_GATEWAY_URL: `http://127.0.0.1:${PORTS.gateway}`,
      A4C_READ_API_URL: `http://127.0.0.1:${PORTS.readApi}`,
      A4C_PROCESSOR_URL: `http://127.0.0.1:${PORTS.processor}`,
      A4C_ES_SYNC_URL: `http://127.0.0.1:${PORTS.esSync}`,
      A4C_PROVISIONER_URL: `http://127.0.0.1:${PORTS.provisioner}`,
      PORT: String(PORTS.dashboard),
    }),
  };
  return {
    infrastructure: { postgres, nats, redis, elasticsearch, kafka },
    /** Change-data capture; started after migrations, which create the publications. */
    cdc: { debeziumNats, debeziumKafka },
    hosts,
    services,
    monitoring: monitoring(Object.values(services), common.A4C_METRICS_TOKEN),
    env: common,
  };
}

/**
 * Every component a deployment runs, in start order: infrastructure, change capture, services,
 * monitoring (the simulated hosts aside: they are test fixtures).
 */
export function runnableComponents(s: ReturnType<typeof stack> = stack()) {
  return [
    ...Object.values(s.infrastructure),
    ...Object.values(s.cdc),
    ...Object.values(s.services),
    ...Object.values(s.monitoring),
  ];
}

/** Prometheus scrapes every service the launcher starts; Alertmanager posts to A4C_ALERT_WEBHOOK_URL. */
function monitoring(services: ServiceProcess[], token: string) {
  const alertmanager = new AlertmanagerServer(join(LOCAL, "alertmanager"), PORTS.alertmanager, {
    webhookUrl: process.env.A4C_ALERT_WEBHOOK_URL || undefined,
  });
  const targets = services.map((svc) => ({ service: svc.name, url: `http://127.0.0.1:${svc.port}` }));
  const prometheus = new PrometheusServer(join(LOCAL, "prometheus"), PORTS.prometheus, targets, {
    alertmanagerUrl: alertmanager.url,
    metricsToken: token,
  });
  return { alertmanager, prometheus };
}
