/**
 * `just go` end to end, as a person runs it (`bash infra/a4c.sh deploy …`), against a fresh Debian
 * host: a debootstrap root with only sshd (test/helpers/debian-target.ts), reached over SSH on
 * loopback with a pinned host key. The deployed stack gets ports of its own (every A4C_*_PORT
 * moved), so it never meets the test stack.
 *  - go: ships the exact commit, installs what is missing (Debian packages, supervisor), starts
 *    every component under supervisord, waits for /ready, prints the URLs; a write is applied;
 *  - what dies is restarted; supervisord started again (as at boot) brings everything back;
 *  - update under a stream of writes: every accepted write is applied, exactly once;
 *  - logs and status; destroy leaves no program and no folder.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LOCAL, portEnvironment, ROOT } from "../../infra/lib/paths.ts";
import { type DebianTarget, startDebianTarget } from "../helpers/debian-target.ts";
import { launcher as runLauncher } from "../helpers/launcher.ts";
import { freePort } from "../helpers/ports.ts";
import { until } from "../helpers/wait.ts";

const dir = join(LOCAL, "test", `deploy-${randomBytes(3).toString("hex")}`);
/** Every port the stack uses, each moved to a free one below. */
const PORT_VARS = Object.keys(portEnvironment());
let target: DebianTarget;
const env: Record<string, string> = {};
const url = (v: string) => `http://127.0.0.1:${env[v]}`;
const state = () => join(target.root, "opt", "a4c", "state");
const adminToken = () => readFileSync(join(state(), "admin-token"), "utf8").trim();

const launcher = (args: string[]) => runLauncher(["deploy", ...args], env);

async function write(body: unknown, key: string) {
  const r = await fetch(`${url("A4C_GATEWAY_PORT")}/v1/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken()}`, "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, body: (await r.json()) as Record<string, string> };
}

async function settled(operationId: string): Promise<string> {
  let status = "pending";
  await until(
    `operation ${operationId}`,
    async () => {
      const r = await fetch(`${url("A4C_READ_API_PORT")}/status/${operationId}?wait=5`, {
        headers: { authorization: `Bearer ${adminToken()}` },
      });
      status = ((await r.json()) as { status: string }).status;
      return status !== "pending";
    },
    60_000,
  );
  return status;
}

const ready = async (v: string) =>
  (await fetch(`${url(v)}/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => null))?.status === 200;

/** Whether anything answers HTTP on that port (Elasticsearch has no /ready). */
const answers = async (v: string) =>
  (await fetch(url(v), { signal: AbortSignal.timeout(2_000) }).catch(() => null)) !== null;

beforeAll(async () => {
  target = await startDebianTarget(dir);
  for (const v of PORT_VARS) env[v] = String(await freePort());
  Object.assign(env, {
    A4C_HOST: "root@127.0.0.1",
    A4C_SSH_PORT: String(target.port),
    A4C_SSH_KEY: target.key,
    A4C_SSH_KNOWN_HOSTS: target.knownHosts,
  });
}, 300_000);

afterAll(async () => {
  await target?.stop();
}, 120_000);

test("go: ships the commit, installs what is missing, starts everything under supervisord, prints the URLs", async () => {
  expect(target.exec("command -v supervisord || command -v bun || ls /opt/a4c").code).not.toBe(0);
  const started = performance.now();
  const go = await launcher(["go"]);
  console.log(
    go.out
      .split("\n")
      .filter((l) => /shipped|deployed|installing/.test(l))
      .join("\n"),
  );
  console.log(`deploy go took ${Math.round((performance.now() - started) / 1000)} s`);
  if (go.code !== 0) console.log(go.out.slice(-5000));
  expect(go.code).toBe(0);
  expect(go.out).toContain(`write-gateway  http://127.0.0.1:${env.A4C_GATEWAY_PORT}`);
  const sha = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  expect(readFileSync(join(target.root, "opt", "a4c", "current", "package.json"), "utf8")).toBe(
    readFileSync(join(ROOT, "package.json"), "utf8"),
  );
  expect(target.exec("readlink /opt/a4c/current").out.trim()).toBe(`releases/${sha}`);
  for (const v of ["A4C_GATEWAY_PORT", "A4C_READ_API_PORT", "A4C_ES_SYNC_PORT", "A4C_PROVISIONER_PORT"]) {
    expect({ v, ready: await ready(v) }).toEqual({ v, ready: true });
  }
  expect((await fetch(`${url("A4C_PROMETHEUS_PORT")}/-/ready`)).status).toBe(200);
  const w = await write({ name: "Deployed", email: `${crypto.randomUUID()}@example.com` }, crypto.randomUUID());
  expect(w.status).toBe(202);
  expect(await settled(w.body.operationId ?? "")).toBe("completed");
}, 1_200_000);

test("supervisord restarts what dies, and brings everything back when it starts again (as at boot)", async () => {
  const pidFile = join(state(), "run", "write-gateway.pid");
  const before = Number(readFileSync(pidFile, "utf8"));
  process.kill(before, "SIGKILL");
  await until(
    "the gateway back with a new process",
    async () => (await ready("A4C_GATEWAY_PORT")) && Number(readFileSync(pidFile, "utf8")) !== before,
    120_000,
  );

  expect(target.exec("supervisorctl shutdown").code).toBe(0);
  // supervisord stops every program (each drains) before it exits itself.
  const supervisord = () =>
    target.processes().some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("supervisord");
      } catch {
        return false;
      }
    });
  await until("supervisord and every component stopped", async () => !supervisord(), 180_000);
  expect(await ready("A4C_READ_API_PORT")).toBe(false);
  expect(target.exec("/etc/init.d/supervisor start").code).toBe(0);
  await until(
    "everything back by itself",
    async () =>
      (await ready("A4C_GATEWAY_PORT")) && (await ready("A4C_READ_API_PORT")) && (await ready("A4C_ES_SYNC_PORT")),
    300_000,
  );
}, 600_000);

test("update under a stream of writes: every accepted write is applied exactly once", async () => {
  const accepted = new Map<string, string>(); // key → operationId
  let writing = true;
  let refused = 0;
  let unanswered = 0; // attempts the gateway did not answer (restarting), retried with the same key
  const writer = (async () => {
    while (writing) {
      const key = crypto.randomUUID();
      const body = { name: "During Update", email: `${key}@example.com` };
      // A client retries with the same key until the gateway answers (a restart refuses connections).
      for (let attempt = 0; writing || attempt === 0; attempt++) {
        try {
          const r = await write(body, key);
          if (r.status === 202) accepted.set(key, r.body.operationId ?? "");
          else refused++;
          break;
        } catch {
          unanswered++;
          await Bun.sleep(200);
        }
      }
      await Bun.sleep(50);
    }
  })();
  const up = await launcher(["update"]);
  writing = false;
  await writer;
  if (up.code !== 0) console.log(up.out.slice(-4000));
  expect(up.code).toBe(0);
  expect(up.out).toContain("write-gateway: restarting on the new release");
  console.log(
    `${accepted.size} writes accepted during the update (${refused} refused, ${unanswered} attempts unanswered and retried)`,
  );
  expect(accepted.size).toBeGreaterThan(10);
  expect(refused).toBe(0);
  for (const op of accepted.values()) expect(await settled(op)).toBe("completed");
  // Exactly once: one user per accepted key, found by its e-mail.
  const emails = [...accepted.keys()].map((k) => `${k}@example.com`);
  const psql = target.exec(
    `cd /opt/a4c/current && set -a && . /opt/a4c/a4c.env && runuser -u a4c -- psql -h 127.0.0.1 -p "$A4C_PG_PORT" -U a4c -d a4c -Atc "SELECT count(*), count(DISTINCT email) FROM users WHERE name = 'During Update'"`,
  );
  expect(psql.out.trim()).toBe(`${emails.length}|${emails.length}`);
}, 900_000);

test("status, logs, then destroy: no program, no folder left", async () => {
  const status = await launcher(["status"]);
  for (const name of ["postgres", "elasticsearch", "write-gateway", "prometheus"]) {
    expect(status.out).toMatch(new RegExp(`a4c-${name}\\s+RUNNING`));
  }
  const logs = await launcher(["logs", "write-gateway", "--no-follow"]);
  expect(logs.code).toBe(0);
  expect(logs.out).toContain('"service":"write-gateway"');
  const destroyed = await launcher(["destroy"]);
  expect(destroyed.code).toBe(0);
  expect(existsSync(join(target.root, "opt", "a4c"))).toBe(false);
  await until(
    "the components' processes gone",
    async () => !(await ready("A4C_GATEWAY_PORT")) && !(await answers("A4C_ES_PORT")),
    120_000,
  );
  const left = target.processes().map((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " "));
  expect(left.filter((c) => !/sshd|supervisord/.test(c))).toEqual([]);
}, 300_000);
