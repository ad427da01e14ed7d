/**
 * The compose form, proven (`npm run test:compose`): `bash infra/a4c.sh compose up` as a user runs
 * it, on one of the launcher's Docker hosts (its own dockerd; nothing can be pulled there), builds
 * the image from a debootstrap-made Debian root and the Dockerfile, starts every component of
 * docker-compose.yaml and waits for /ready. Then a write is accepted, applied and read back, a job
 * is found through Elasticsearch (Debezium → Kafka → es-sync inside the containers), and
 * `compose down -v` leaves no container or volume behind.
 *
 * Isolation: its own project name, tokens and ports (every A4C_*_PORT moved to free ones), so it
 * never meets the launcher's stack or the other tests' services.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { dockerHosts } from "../../infra/components/docker-host.ts";
import { LOCAL, PORTS, portEnvironment } from "../../infra/lib/paths.ts";
import { launcher as runLauncher } from "../helpers/launcher.ts";
import { freePort } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

const host = dockerHosts(LOCAL, PORTS.hostSsh)[0];
const project = `a4ct${randomBytes(3).toString("hex")}`;
const adminToken = randomBytes(18).toString("base64url");
/** Every port the stack uses, each moved to a free one below. */
const PORT_VARS = Object.keys(portEnvironment());
const env: Record<string, string> = {
  DOCKER_HOST: `unix://${host?.socket}`,
  COMPOSE_PROJECT_NAME: project,
  A4C_ADMIN_TOKEN: adminToken,
  A4C_TOKEN_SECRET: randomBytes(18).toString("base64url"),
  A4C_METRICS_TOKEN: randomBytes(18).toString("base64url"),
};
const url = (v: string) => `http://127.0.0.1:${env[v]}`;
let upOutput = "";

const launcher = (args: string[]) => runLauncher(args, env);

function docker(args: string[]): string {
  const r = Bun.spawnSync(["docker", "-H", env.DOCKER_HOST ?? "", ...args]);
  return r.stdout.toString().trim();
}

async function call(method: string, base: string, path: string, body?: unknown) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      "content-type": "application/json",
      ...(method === "POST" ? { "idempotency-key": crypto.randomUUID() } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers checked field by field
  return { status: r.status, body: (await r.json().catch(() => null)) as any };
}

/** The host's images before the test: other tests place workspaces by disk use, so it gives the space back. */
let imagesBefore: string[] = [];
let layersBefore = 0;
const taggedImages = () =>
  docker(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]).split("\n").filter(Boolean).sort();
const allLayers = () => docker(["images", "-aq"]).split("\n").filter(Boolean).length;

/** Removes the images the build made: ours first, then the imported base, then what is left untagged. */
function removeBuiltImages(): void {
  const tags = docker(["images", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n");
  for (const prefix of ["a4c/a4c:", "a4c/debian:"]) {
    const ours = tags.filter((t) => t.startsWith(prefix));
    if (ours.length > 0) docker(["rmi", ...ours]);
  }
  docker(["image", "prune", "-f"]);
}

beforeAll(async () => {
  imagesBefore = taggedImages();
  layersBefore = allLayers();
  for (const v of PORT_VARS) env[v] = String(await freePort());
  const started = performance.now();
  const up = await launcher(["compose", "up"]);
  upOutput = up.out;
  console.log(
    up.out
      .split("\n")
      .filter((l) => /built in|ready in|Debian root/.test(l))
      .join("\n"),
  );
  console.log(`compose up (image build included) took ${Math.round((performance.now() - started) / 1000)} s`);
  if (up.code !== 0) console.log(up.out.slice(-4000));
}, 1_500_000);

afterAll(async () => {
  // Whatever happened above: nothing of this project stays on the host.
  await launcher(["compose", "down", "-v", "--remove-orphans"]);
  removeBuiltImages();
}, 300_000);

test("`compose up` builds the image with nothing pulled and brings every component to /ready", async () => {
  expect(upOutput).toContain("the compose stack is ready");
  const containers = docker([
    "ps",
    "--filter",
    `label=com.docker.compose.project=${project}`,
    "--format",
    "{{.Names}} {{.Status}}",
  ]);
  const services = [
    "postgres",
    "nats",
    "redis",
    "elasticsearch",
    "kafka",
    "debezium-nats",
    "debezium-kafka",
    "write-processor",
    "write-gateway",
    "read-api",
    "es-sync",
    "provisioner",
    "ci-consumer",
    "dashboard",
    "alertmanager",
    "prometheus",
  ];
  for (const s of services) expect(containers).toMatch(new RegExp(`${project}_${s}_1 Up|${project}-${s}-1 Up`));
  // The image is ours, built here: its base is the imported Debian root, not a pulled image.
  const history = docker(["image", "inspect", "--format", "{{.Config.Labels}}", "a4c/a4c:local"]);
  expect(history).toContain("a4c.commit");
}, 60_000);

test("a write through the gateway is applied and read back; a job is found through Elasticsearch", async () => {
  const email = `${crypto.randomUUID()}@example.com`;
  const accepted = await call("POST", url("A4C_GATEWAY_PORT"), "/v1/users", { name: "Compose User", email });
  expect(accepted.status).toBe(202);
  const op = accepted.body.operationId as string;
  let status = await call("GET", url("A4C_READ_API_PORT"), `/status/${op}?wait=10`);
  await until(
    "the operation to settle",
    async () => {
      status = await call("GET", url("A4C_READ_API_PORT"), `/status/${op}?wait=5`);
      return status.body?.status !== "pending";
    },
    60_000,
  );
  expect(status.body.status).toBe("completed");
  const user = await call("GET", url("A4C_READ_API_PORT"), `/v1/users/${accepted.body.userId}`);
  expect(user.body).toMatchObject({ id: accepted.body.userId, email });

  const ws = await call("POST", url("A4C_GATEWAY_PORT"), `/v1/users/${accepted.body.userId}/workspaces`, {
    projectName: "compose-proof",
  });
  expect(ws.status).toBe(202);
  const search = () => call("GET", url("A4C_READ_API_PORT"), "/v1/jobs?q=project:compose-proof");
  await until(
    "the workspace's job in Elasticsearch",
    async () => {
      const r = await search();
      return r.status === 200 && r.body.source === "elasticsearch" && r.body.items.length === 1;
    },
    120_000,
  );
  expect((await search()).body.items[0]).toMatchObject({
    type: "WORKSPACE_CREATE",
    projectName: "compose-proof",
    ownerEmail: email,
    workspaceId: ws.body.workspaceId,
  });
}, 240_000);

test("`compose down -v` removes every container and volume of the project; the host gets its space back", async () => {
  const down = await launcher(["compose", "down", "-v"]);
  expect(down.code).toBe(0);
  expect(
    docker(["ps", "-a", "--filter", `label=com.docker.compose.project=${project}`, "--format", "{{.Names}}"]),
  ).toBe("");
  expect(
    docker(["volume", "ls", "--filter", `label=com.docker.compose.project=${project}`, "--format", "{{.Name}}"]),
  ).toBe("");
  // The other tests share this host and place workspaces on the least-used one.
  removeBuiltImages();
  expect(taggedImages()).toEqual(imagesBefore);
  expect(allLayers()).toBeLessThanOrEqual(layersBefore);
}, 300_000);
