/**
 * `compose up | down | ps`: the system as containers (docker-compose.yaml) on the Docker engine
 * DOCKER_HOST names (else the local one). `up` builds the image (infra/images.ts), hands the
 * compose file the launcher's tokens and ports, starts everything and waits until every service
 * answers /ready, then prints the same URLs as `npm start`.
 */
import { join } from "node:path";
import { buildImage, IMAGE } from "./images.ts";
import { adminToken, metricsToken, PORTS, portEnvironment, ROOT, tokenSecret } from "./lib/paths.ts";
import { aptInstall, run, say, sleep } from "./lib/shell.ts";
import { stack } from "./stack.ts";

const COMPOSE_FILE = join(ROOT, "docker-compose.yaml");

let composeCmd: string[] | null = null;

/** Compose v2 (`docker compose`) where installed, else Debian's v1 (`docker-compose`), installed if missing. Found once. */
function composeCommand(): string[] {
  if (composeCmd) return composeCmd;
  if (run("docker", ["compose", "version"], { allowFailure: true }).code === 0) composeCmd = ["docker", "compose"];
  else {
    aptInstall(["docker-compose"]);
    composeCmd = ["docker-compose"];
  }
  return composeCmd;
}

/** What docker-compose.yaml substitutes: the tokens and every port, from the launcher's settings. */
export function composeEnvironment(): Record<string, string> {
  const env: Record<string, string> = {
    A4C_IMAGE: IMAGE,
    A4C_ADMIN_TOKEN: adminToken(),
    A4C_TOKEN_SECRET: tokenSecret(),
    A4C_METRICS_TOKEN: metricsToken(),
    ...portEnvironment(),
  };
  if (process.env.A4C_ALERT_WEBHOOK_URL) env.A4C_ALERT_WEBHOOK_URL = process.env.A4C_ALERT_WEBHOOK_URL;
  return env;
}

function compose(args: string[], allowFailure = false) {
  const [cmd, ...pre] = composeCommand() as [string, ...string[]];
  return run(cmd, [...pre, "-f", COMPOSE_FILE, ...args], { env: composeEnvironment(), allowFailure });
}

async function waitReady(timeoutMs: number): Promise<void> {
  const services = Object.values(stack().services);
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(services.map((s) => s.name));
  let shown = "";
  while (pending.size > 0) {
    for (const svc of services) {
      if (!pending.has(svc.name)) continue;
      const r = await fetch(`${svc.url}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
      if (r?.ok) pending.delete(svc.name);
    }
    const now = [...pending].join(", ");
    if (now && now !== shown) say(`waiting for /ready: ${now}`);
    shown = now;
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs / 1000} s: ${now} (see \`compose logs\`)`);
    await sleep(2_000);
  }
}

export async function composeCli(args: string[]): Promise<number> {
  const [action = "up", ...rest] = args;
  switch (action) {
    case "up": {
      const started = performance.now();
      if (!rest.includes("--no-build")) buildImage();
      compose(["up", "-d", "--remove-orphans"]);
      await waitReady(600_000);
      say(`the compose stack is ready in ${Math.round((performance.now() - started) / 1000)} s`);
      say(`dashboard      http://127.0.0.1:${PORTS.dashboard}`);
      say(`write-gateway  http://127.0.0.1:${PORTS.gateway}`);
      say(`read-api       http://127.0.0.1:${PORTS.readApi}`);
      say(`prometheus     http://127.0.0.1:${PORTS.prometheus}/alerts`);
      say("admin token    in .local/admin-token (or A4C_ADMIN_TOKEN)");
      return 0;
    }
    case "down":
      compose(["down", ...rest]);
      return 0;
    case "ps":
    case "logs": {
      const r = compose([action, ...rest], true);
      process.stdout.write(r.stdout + r.stderr);
      return r.code;
    }
    default:
      say("compose up [--no-build] | down [-v] | ps | logs [service]");
      return 2;
  }
}
