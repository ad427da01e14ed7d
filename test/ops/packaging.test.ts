/**
 * The three ways of running A4C name the same things: the compose file substitutes exactly the
 * variables the launcher hands it (every port of PORTS among them), runs every component the
 * launcher knows, and the image and the deploy ship the same installs. Pure checks, no services.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { composeEnvironment } from "../../infra/compose.ts";
import { deployedComponents, INSTALLS, supervisorConfig } from "../../infra/deploy.ts";
import { ROOT } from "../../infra/lib/paths.ts";
import { runnableComponents } from "../../infra/stack.ts";

const composeFile = readFileSync(join(ROOT, "docker-compose.yaml"), "utf8");
const components = runnableComponents().map((c) => c.name);

test("docker-compose.yaml substitutes exactly what the launcher hands it, every port included", () => {
  const used = new Set([...composeFile.matchAll(/\$\{(A4C_[A-Z_]+)/g)].map((m) => m[1]));
  const given = new Set(Object.keys(composeEnvironment()));
  given.add("A4C_ALERT_WEBHOOK_URL"); // handed over only when set
  expect([...used].sort()).toEqual([...given].sort());
  const portVars = readFileSync(join(ROOT, "infra", "lib", "paths.ts"), "utf8").matchAll(/port\("(A4C_[A-Z_]+_PORT)"/g);
  for (const [, v] of portVars) {
    if (v === "A4C_HOST_SSH_PORT") continue; // the simulated hosts are not part of a deployment
    expect({ v, used: used.has(v) }).toEqual({ v, used: true });
  }
});

test("compose and the deploy run every component the launcher knows, each by `run <component>`", () => {
  const composed = [...composeFile.matchAll(/command: \["run", "([a-z-]+)"\]/g)].map((m) => m[1]);
  expect(composed.sort()).toEqual([...components].sort());
  expect(
    deployedComponents()
      .map((c) => c.name)
      .sort(),
  ).toEqual([...components].sort());
  const programs = supervisorConfig("/opt/a4c");
  for (const name of components) {
    expect(programs).toContain(`[program:a4c-${name}]`);
    expect(programs).toContain(`infra/cli.ts run ${name}'`);
  }
  // Infrastructure starts before change capture, change capture before the services.
  const priority = new Map(deployedComponents().map((c) => [c.name, c.priority]));
  expect(priority.get("postgres")).toBeLessThan(priority.get("debezium-nats") ?? 0);
  expect(priority.get("debezium-kafka")).toBeLessThan(priority.get("es-sync") ?? 0);
});

test("the image and a deployment carry the same installs", () => {
  const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
  for (const path of ["node_modules", ...INSTALLS]) expect(ignore).toContain(`!${path}`);
});
