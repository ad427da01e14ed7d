/**
 * `deploy go | update | logs [component] | ssh | destroy`: A4C on a Debian host reachable over SSH
 * (`A4C_HOST=user@host`; `A4C_SSH_PORT`, `A4C_SSH_KEY`, `A4C_SSH_KNOWN_HOSTS` if not the defaults).
 *
 * Layout on the host (`A4C_DEPLOY_DIR`, default /opt/a4c):
 *   releases/<commit>/   the exact commit (git archive) and its node_modules; `.local` → ../../state
 *   current → releases/<commit>
 *   state/               data, logs, secrets, and the Elasticsearch/Kafka/Debezium distributions
 *   a4c.env              the ports and settings every component runs with
 * Each component runs under supervisord (Debian's `supervisor`: restarts what dies, starts at
 * boot) as `bun infra/cli.ts run <component>`, the same code as `npm start` and the containers.
 * `go` ships, installs what is missing (the launcher's own installs), starts, waits for /ready and
 * prints the URLs. `update` ships the new commit, migrates, then restarts our services one at a
 * time, each drained by SIGTERM and back at /ready before the next: accepted writes are never lost.
 */
import { spawn, spawnSync } from "node:child_process";
import { globSync } from "node:fs";
import { PORTS, portEnvironment, ROOT } from "./lib/paths.ts";
import { run, say } from "./lib/shell.ts";
import { stack } from "./stack.ts";

/** What a release carries beside the commit's files: what `npm install` and the launcher installed. */
export const INSTALLS = [
  ".local/elasticsearch/elasticsearch-*",
  ".local/kafka/lib",
  ".local/debezium/dist/debezium-server-*",
];

interface Target {
  host: string;
  dir: string;
  ssh: string[];
}

function target(): Target {
  const host = process.env.A4C_HOST;
  if (!host) throw new Error("set A4C_HOST=user@host (the Debian host to deploy to)");
  const ssh = ["ssh", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15"];
  if (process.env.A4C_SSH_PORT) ssh.push("-p", process.env.A4C_SSH_PORT);
  if (process.env.A4C_SSH_KEY) ssh.push("-i", process.env.A4C_SSH_KEY, "-o", "IdentitiesOnly=yes");
  if (process.env.A4C_SSH_KNOWN_HOSTS) {
    ssh.push("-o", `UserKnownHostsFile=${process.env.A4C_SSH_KNOWN_HOSTS}`, "-o", "StrictHostKeyChecking=yes");
  } else {
    ssh.push("-o", "StrictHostKeyChecking=accept-new");
  }
  return { host, dir: process.env.A4C_DEPLOY_DIR ?? "/opt/a4c", ssh: [...ssh, host] };
}

/** `releases/<commit>`: the `current` link is relative, so the folder can be read from anywhere (a backup, a chroot). */
const relative = (release: string) => release.split("/").slice(-2).join("/");

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** Runs a bash script on the target (as stdin, so nothing is quoted twice); its output streams here. */
function remote(t: Target, script: string, opts: { allowFailure?: boolean; capture?: boolean } = {}): string {
  const [cmd, ...args] = t.ssh as [string, ...string[]];
  const r = spawnSync(cmd, [...args, "bash -s"], {
    input: `set -euo pipefail\n${script}`,
    stdio: ["pipe", opts.capture ? "pipe" : "inherit", "inherit"],
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0 && !opts.allowFailure) throw new Error(`on ${t.host}: exited ${r.status}`);
  return r.stdout ?? "";
}

/** Streams a local tar (of `paths`, or `git archive` of HEAD) into `dir` on the target. */
function ship(t: Target, dir: string, tar: string): void {
  const sshCmd = [...t.ssh, `mkdir -p ${quote(dir)} && tar -x -C ${quote(dir)}`].map(quote).join(" ");
  run("bash", ["-o", "pipefail", "-c", `${tar} | ${sshCmd}`], { cwd: ROOT });
}

function commit(): string {
  const sha = run("git", ["rev-parse", "HEAD"], { cwd: ROOT }).stdout.trim();
  if (run("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT }).stdout.trim()) {
    say("note: the working tree has uncommitted changes; the commit HEAD names is what ships");
  }
  return sha;
}

/** The settings every component on the target runs with: the deployer's ports (movable by A4C_*_PORT). */
function envFile(): string {
  const vars: Record<string, string | number> = { ...portEnvironment(), NODE_NO_WARNINGS: 1 };
  if (process.env.A4C_ALERT_WEBHOOK_URL) vars.A4C_ALERT_WEBHOOK_URL = process.env.A4C_ALERT_WEBHOOK_URL;
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
}

/** Components in start order (supervisord priorities): infrastructure, change capture, services, monitoring. */
export function deployedComponents(): Array<{ name: string; priority: number; service: boolean }> {
  const s = stack();
  return [
    ...Object.values(s.infrastructure).map((c) => ({ name: c.name, priority: 10, service: false })),
    ...Object.values(s.cdc).map((c) => ({ name: c.name, priority: 20, service: false })),
    ...Object.values(s.services).map((c) => ({ name: c.name, priority: 30, service: true })),
    ...Object.values(s.monitoring).map((c) => ({ name: c.name, priority: 40, service: true })),
  ];
}

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** supervisord programs, one per component, run from `current` with the env file. */
export function supervisorConfig(dir: string): string {
  return deployedComponents()
    .map((c) =>
      [
        `[program:a4c-${c.name}]`,
        // Only a4c.env decides the settings: nothing leaks in from whoever started supervisord.
        `command=/usr/bin/env -i PATH=${PATH} HOME=/root LANG=C.UTF-8 /bin/bash -c 'set -a; . ${dir}/a4c.env; exec ${dir}/current/node_modules/.bin/bun infra/cli.ts run ${c.name}'`,
        `directory=${dir}/current`,
        `priority=${c.priority}`,
        "autostart=true",
        "autorestart=true",
        "startsecs=5",
        "startretries=1000",
        "stopsignal=TERM",
        "stopwaitsecs=60",
        "stopasgroup=true",
        "killasgroup=true",
        `stdout_logfile=${dir}/state/logs/${c.name}.supervisor.log`,
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=2",
        "redirect_stderr=true",
        "",
      ].join("\n"),
    )
    .join("\n");
}

/** Ships HEAD as a release (and the installs the target lacks); returns the release's folder. */
function shipRelease(t: Target): string {
  const sha = commit();
  const release = `${t.dir}/releases/${sha}`;
  const started = performance.now();
  say(`shipping ${sha.slice(0, 12)} to ${t.host}:${release}…`);
  ship(t, release, "git archive --format=tar HEAD");
  ship(t, release, "tar -cf - node_modules");
  const installs = INSTALLS.flatMap((g) => globSync(g, { cwd: ROOT }));
  if (installs.length < INSTALLS.length)
    throw new Error(`install the distributions first (npm start or npm test): ${INSTALLS.join(", ")}`);
  const missing = remote(
    t,
    installs
      .map((p) => `test -e ${quote(`${t.dir}/state/${p.replace(/^\.local\//, "")}`)} || echo ${quote(p)}`)
      .join("\n"),
    { capture: true },
  )
    .split("\n")
    .filter(Boolean);
  if (missing.length > 0)
    ship(
      t,
      `${t.dir}/state`,
      `tar -C .local -cf - ${missing.map((p) => quote(p.replace(/^\.local\//, ""))).join(" ")}`,
    );
  remote(t, `ln -sfn ../../state ${quote(`${release}/.local`)}; mkdir -p ${quote(`${t.dir}/state/logs`)}`);
  say(`shipped in ${Math.round((performance.now() - started) / 1000)} s (${missing.length} distribution(s) sent)`);
  return release;
}

/** On the target, from `release`: the launcher's installs and the database's migrations. */
function installAndMigrate(t: Target, release: string): void {
  remote(
    t,
    `cd ${quote(release)}
set -a; . ${quote(`${t.dir}/a4c.env`)}; set +a
node_modules/.bin/bun infra/cli.ts install
# PostgreSQL runs under supervisord; prepare (the database, migrations) once it answers.
for i in $(seq 1 90); do
  node_modules/.bin/bun infra/cli.ts prepare >/tmp/a4c-prepare.log 2>&1 && { cat /tmp/a4c-prepare.log; exit 0; }
  sleep 2
done
tail -5 /tmp/a4c-prepare.log >&2; echo "PostgreSQL did not come up in 3 minutes" >&2; exit 1`,
  );
}

function supervisorctl(t: Target, args: string, opts: { allowFailure?: boolean; capture?: boolean } = {}): string {
  return remote(t, `supervisorctl ${args}`, opts);
}

/** Waits on the target until `names` answer ready. */
function waitReady(t: Target, names: string[], timeoutS = 600): void {
  remote(
    t,
    `cd ${quote(`${t.dir}/current`)}; set -a; . ${quote(`${t.dir}/a4c.env`)}; set +a
deadline=$(( $(date +%s) + ${timeoutS} ))
for n in ${names.join(" ")}; do
  until node_modules/.bin/bun infra/cli.ts ready "$n"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$n not ready after ${timeoutS} s" >&2; exit 1; }
    sleep 2
  done
  echo "[a4c] $n ready"
done`,
  );
}

async function go(t: Target): Promise<void> {
  const started = performance.now();
  const release = shipRelease(t);
  // supervisord from Debian's package; its own service is started by us (or by the init system at boot).
  remote(
    t,
    `printf '%s\\n' ${quote(envFile())} > ${quote(`${t.dir}/a4c.env`)}
if ! command -v supervisord >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  echo "[a4c] installing supervisor"
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends supervisor; } >/tmp/a4c-apt.log 2>&1 \
    || { tail -20 /tmp/a4c-apt.log >&2; exit 1; }
fi
ln -sfn ${quote(relative(release))} ${quote(`${t.dir}/current`)}
printf '%s\\n' ${quote(supervisorConfig(t.dir))} > /etc/supervisor/conf.d/a4c.conf
if ! supervisorctl pid >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then systemctl enable --now supervisor; else /etc/init.d/supervisor start; fi
  for i in $(seq 1 30); do supervisorctl pid >/dev/null 2>&1 && break; sleep 1; done
fi`,
  );
  say("installing what is missing on the host (Debian packages through the launcher)…");
  // Installs first, with nothing started: then supervisord starts every program.
  remote(
    t,
    `cd ${quote(release)}; set -a; . ${quote(`${t.dir}/a4c.env`)}; set +a; node_modules/.bin/bun infra/cli.ts install`,
  );
  supervisorctl(t, "update");
  installAndMigrate(t, release);
  waitReady(
    t,
    deployedComponents().map((c) => c.name),
  );
  printUrls(t);
  say(`deployed in ${Math.round((performance.now() - started) / 1000)} s`);
}

function printUrls(t: Target): void {
  const host = t.host.split("@").pop();
  say(
    `dashboard      http://${host}:${PORTS.dashboard}   (ports listen on the host's 127.0.0.1: use an SSH tunnel or a proxy)`,
  );
  say(`write-gateway  http://${host}:${PORTS.gateway}`);
  say(`read-api       http://${host}:${PORTS.readApi}`);
  say(`prometheus     http://${host}:${PORTS.prometheus}/alerts`);
  say(`admin token    ssh ${t.host} cat ${t.dir}/state/admin-token`);
}

async function update(t: Target): Promise<void> {
  const started = performance.now();
  const release = shipRelease(t);
  remote(t, `printf '%s\\n' ${quote(envFile())} > ${quote(`${t.dir}/a4c.env`)}`);
  installAndMigrate(t, release);
  remote(
    t,
    `ln -sfn ${quote(relative(release))} ${quote(`${t.dir}/current`)}
printf '%s\\n' ${quote(supervisorConfig(t.dir))} > /etc/supervisor/conf.d/a4c.conf
supervisorctl reread >/dev/null`,
  );
  // One service at a time: SIGTERM drains it (in-flight work finishes, nothing acknowledged is
  // dropped), the new release starts, and the next waits until this one is ready again.
  for (const c of deployedComponents().filter((c) => c.service)) {
    say(`${c.name}: restarting on the new release`);
    supervisorctl(t, `restart a4c-${c.name}`, { capture: true });
    waitReady(t, [c.name]);
  }
  say(`updated to ${release.split("/").pop()?.slice(0, 12)} in ${Math.round((performance.now() - started) / 1000)} s`);
}

function logs(t: Target, name: string | undefined, follow: boolean): void {
  const file = `${t.dir}/state/logs/${name ?? "write-gateway"}.log`;
  remote(t, follow ? `exec tail -n 100 -F ${quote(file)}` : `tail -n 200 ${quote(file)}`);
}

function destroy(t: Target): void {
  remote(
    t,
    `if supervisorctl pid >/dev/null 2>&1; then
  supervisorctl stop 'a4c-*:*' >/dev/null 2>&1 || true
  for p in $(supervisorctl avail 2>/dev/null | awk '/^a4c-/ {print $1}'); do supervisorctl stop "$p" >/dev/null || true; done
fi
rm -f /etc/supervisor/conf.d/a4c.conf
supervisorctl update >/dev/null 2>&1 || true
rm -rf ${quote(t.dir)}
echo "[a4c] removed ${t.dir} and its programs"`,
  );
}

export async function deployCli(args: string[]): Promise<number> {
  const [action = "go", ...rest] = args;
  const t = target();
  switch (action) {
    case "go":
      await go(t);
      return 0;
    case "update":
      await update(t);
      return 0;
    case "logs":
      logs(
        t,
        rest.find((a) => !a.startsWith("-")),
        !rest.includes("--no-follow"),
      );
      return 0;
    case "status":
      process.stdout.write(supervisorctl(t, "status", { allowFailure: true, capture: true }));
      return 0;
    case "ssh": {
      const [cmd, ...sshArgs] = t.ssh as [string, ...string[]];
      const child = spawn(cmd, ["-t", ...sshArgs, ...rest], { stdio: "inherit" });
      return await new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));
    }
    case "destroy":
      destroy(t);
      return 0;
    default:
      say("deploy go | update | status | logs [component] [--no-follow] | ssh | destroy");
      return 2;
  }
}
