import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  aptInstall,
  assertPortFree,
  isAlive,
  isRoot,
  portOpen,
  readPid,
  run,
  say,
  sleep,
  spawnDetached,
  stopPid,
} from "../lib/shell.ts";
import { ensureClientKey, ensureKeyPair, ensurePrivilegeSeparationDir, fingerprintOf } from "../lib/ssh-keys.ts";
import { type Component, type ComponentStatus, rssMb } from "./types.ts";

const DOCKERD = "/usr/sbin/dockerd";
const DOCKER = "/usr/bin/docker";
const SSHD = "/usr/sbin/sshd";
const BUSYBOX = "/bin/busybox";
/** The default workspace image (write-gateway's A4C_DEFAULT_IMAGE). */
export const BASE_IMAGE = "a4c/base:latest";
/** overlay2 needs a data-root on a filesystem overlayfs accepts (not overlayfs itself); vfs works anywhere. */
const STORAGE_DRIVERS = ["overlay2", "vfs"] as const;

/** What a client needs to reach one host: address, account, key, and the host key to pin. */
export interface DockerHostConnection {
  name: string;
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  /** OpenSSH public key line of the host's sshd. */
  hostKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  hostKeyFingerprint: string;
}

export interface HostProcess {
  pid: number | null;
  rssMb?: number;
}

/**
 * One simulated bare-metal host: a private dockerd (own data-root, exec-root, socket, managed
 * containerd, no bridge, no iptables) behind a private sshd on 127.0.0.1, both under `dir`,
 * with the base workspace image imported from a busybox-static root filesystem.
 */
export class DockerHost implements Component {
  readonly name: string;
  /** The unix socket of this host's dockerd (what sshd's DOCKER_HOST points at). */
  readonly socket: string;
  readonly #execRoot: string;
  readonly #dockerdPid: string;
  readonly #containerdPid: string;
  readonly #sshdPid: string;
  readonly #hostKeyPath: string;

  constructor(
    readonly hostName: string,
    readonly dir: string,
    readonly sshPort: number,
    /** Where the project's client key pair lives, shared by all hosts. */
    readonly sshDir: string,
    readonly image = BASE_IMAGE,
  ) {
    this.name = `docker-${hostName}`;
    this.socket = join(dir, "docker.sock");
    this.#execRoot = join(dir, "exec");
    this.#dockerdPid = join(dir, "dockerd.pid");
    // Written by dockerd's managed containerd; lets stop() reach it if dockerd was killed.
    this.#containerdPid = join(this.#execRoot, "containerd", "containerd.pid");
    this.#sshdPid = join(dir, "sshd.pid");
    this.#hostKeyPath = join(dir, "ssh_host_ed25519_key");
  }

  install(): void {
    // Installing docker.io / openssh-server must not start a system-wide dockerd (bridge,
    // iptables) or an sshd on port 22.
    aptInstall(["docker.io", "openssh-server", "busybox-static"], { keepServicesStopped: true });
  }

  async start(): Promise<void> {
    this.install();
    mkdirSync(join(this.dir, "data"), { recursive: true, mode: 0o700 });
    mkdirSync(this.#execRoot, { recursive: true, mode: 0o700 });
    // containerd's sockets live under the exec-root; a unix socket path must fit in 108 bytes.
    const deepest = join(this.#execRoot, "containerd", "containerd.sock.ttrpc");
    if (deepest.length > 100) throw new Error(`${this.name}: ${this.dir} is too deep for unix sockets`);
    await this.#startDockerd();
    this.#ensureImage();
    await this.#startSshd();
  }

  async #startDockerd(): Promise<void> {
    if (isAlive(readPid(this.#dockerdPid)) && (await this.dockerReady())) return;
    const remembered = join(this.dir, "storage-driver");
    // A data-root keeps the driver it was created with: switching would hide its images.
    const candidates = existsSync(remembered) ? [readFileSync(remembered, "utf8").trim()] : [...STORAGE_DRIVERS];
    const failures: string[] = [];
    for (const driver of candidates) {
      if (!isAlive(readPid(this.#dockerdPid))) {
        const log = join(this.dir, "dockerd.log");
        spawnDetached(DOCKERD, this.#dockerdArgs(driver), { logFile: log, pidFile: this.#dockerdPid });
      }
      const err = await this.#waitFor("dockerd", this.#dockerdPid, join(this.dir, "dockerd.log"), () =>
        this.dockerReady(),
      );
      if (!err) {
        writeFileSync(remembered, `${driver}\n`);
        return;
      }
      failures.push(`${driver}: ${err}`);
      await stopPid(this.#dockerdPid, 30_000);
      if (driver !== candidates.at(-1)) say(`${this.name}: storage driver ${driver} failed, trying the next`);
    }
    throw new Error(`${this.name}: dockerd did not start\n${failures.join("\n")}`);
  }

  #dockerdArgs(driver: string): string[] {
    const ns = `a4c-${this.hostName}`;
    // Our own daemon.json, not /etc/docker's: a machine's settings must not leak into a host, and
    // dockerd 20.10 derives the engine ID from /etc/docker/key.json unless told otherwise
    // (shared, all hosts would report the same ID).
    const config = join(this.dir, "daemon.json");
    writeFileSync(config, `${JSON.stringify({ "deprecated-key-path": join(this.dir, "key.json") }, null, 2)}\n`);
    return [
      `--config-file=${config}`,
      `--data-root=${join(this.dir, "data")}`,
      `--exec-root=${this.#execRoot}`,
      // dockerd refuses a pidfile naming a live process, so it cannot share the one we write.
      `--pidfile=${join(this.dir, "dockerd.daemon.pid")}`,
      `--host=unix://${this.socket}`,
      // No bridge, NAT or firewall rules: workspaces run with NetworkMode none, traffic stays local.
      "--bridge=none",
      "--iptables=false",
      "--ip6tables=false",
      "--ip-forward=false",
      "--ip-masq=false",
      `--storage-driver=${driver}`,
      // Each dockerd starts its own containerd under its exec-root; separate namespaces and
      // cgroups keep hosts apart even if they ever share a system containerd.
      `--containerd-namespace=${ns}`,
      `--containerd-plugins-namespace=${ns}-plugins`,
      `--cgroup-parent=/${ns}`,
      // tini as PID 1 in every workspace: reaps zombies and lets `docker stop` end it promptly.
      "--init",
      "--shutdown-timeout=10",
      "--log-opt=max-size=10m",
      "--log-opt=max-file=2",
    ];
  }

  async dockerReady(): Promise<boolean> {
    const r = await fetch("http://docker/_ping", { unix: this.socket, signal: AbortSignal.timeout(2_000) }).catch(
      () => null,
    );
    return r?.ok === true && (await r.text()) === "OK";
  }

  /** Polls `check`; returns an error text if the process dies or time runs out, else null. */
  async #waitFor(what: string, pidFile: string, log: string, check: () => Promise<boolean>): Promise<string | null> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return null;
      if (!isAlive(readPid(pidFile))) {
        const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-8).join("\n") : "";
        return `${what} exited:\n${tail}`;
      }
      await sleep(100);
    }
    return `${what} not ready after 60 s`;
  }

  #docker(args: string[], allowFailure = false) {
    return run(DOCKER, ["-H", `unix://${this.socket}`, ...args], { allowFailure });
  }

  /** Imports the base image from a busybox-static rootfs unless the host has it: nothing is pulled. */
  #ensureImage(): void {
    if (this.#docker(["image", "inspect", this.image], true).code === 0) return;
    const rootfs = join(this.dir, "rootfs");
    rmSync(rootfs, { recursive: true, force: true });
    for (const d of ["bin", "etc", "root", "tmp", "proc", "sys", "dev", "workspace"])
      mkdirSync(join(rootfs, d), { recursive: true });
    run("cp", [BUSYBOX, join(rootfs, "bin", "busybox")]);
    for (const applet of run(BUSYBOX, ["--list"]).stdout.split("\n")) {
      if (applet && applet !== "busybox") symlinkSync("busybox", join(rootfs, "bin", applet));
    }
    writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n");
    writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    run("chmod", ["1777", join(rootfs, "tmp")]);
    const tar = join(this.dir, "rootfs.tar");
    run("tar", ["-C", rootfs, "--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "."]);
    const changes = [
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "WORKDIR /workspace",
      'CMD ["/bin/sh"]',
      "LABEL a4c.base=busybox-static",
    ].flatMap((c) => ["--change", c]);
    this.#docker(["import", ...changes, "--message", "a4c base from busybox-static", tar, this.image]);
    rmSync(rootfs, { recursive: true, force: true });
    rmSync(tar, { force: true });
  }

  #sshdConfig(clientKey: string): string {
    // port-forwarding: the provisioner reaches dockerd's socket as a streamlocal channel of its
    // one SSH connection (remote forwarding stays off below).
    writeFileSync(join(this.dir, "authorized_keys"), `restrict,port-forwarding ${clientKey}\n`, { mode: 0o600 });
    return [
      `# ${this.name}: written by the A4C launcher on every start`,
      `Port ${this.sshPort}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${this.#hostKeyPath}`,
      `PidFile ${this.#sshdPid}`,
      `AuthorizedKeysFile ${join(this.dir, "authorized_keys")}`,
      // We run as root: this host is a stand-in for a bare-metal machine administered as root.
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // The checkout's directories may be group-writable; the key files themselves are 0600.
      "StrictModes no",
      // Local forwarding only, for the provisioner's channels to dockerd's socket: sshd grants
      // streamlocal opens only where local TCP forwarding is allowed too (and PermitOpen would gate
      // both). The key already has a root shell here, so this adds no privilege. Nothing remote.
      "AllowTcpForwarding local",
      "AllowStreamLocalForwarding local",
      "PermitListen none",
      "AllowAgentForwarding no",
      "X11Forwarding no",
      "PermitTunnel no",
      "PrintMotd no",
      // dockerode opens one SSH connection per API request; don't drop bursts of them.
      "MaxStartups 64:30:128",
      // The provisioner multiplexes its calls as channels of one connection per host.
      "MaxSessions 64",
      "LoginGraceTime 20",
      // `docker system dial-stdio` run over SSH must reach this host's dockerd, not another's.
      `SetEnv DOCKER_HOST=unix://${this.socket}`,
      "",
    ].join("\n");
  }

  async #startSshd(): Promise<void> {
    ensurePrivilegeSeparationDir();
    ensureKeyPair(this.#hostKeyPath, `a4c-${this.hostName}`);
    const config = join(this.dir, "sshd_config");
    const text = this.#sshdConfig(ensureClientKey(this.sshDir).publicKey);
    const changed = !existsSync(config) || readFileSync(config, "utf8") !== text;
    if (changed) writeFileSync(config, text, { mode: 0o600 });
    run(SSHD, ["-t", "-f", config]);
    const pid = readPid(this.#sshdPid);
    if (isAlive(pid)) {
      // sshd -D re-executes itself with the new config on SIGHUP, keeping its pid (and rewriting
      // its pid file, which reads empty for a moment: wait for the restart before watching it).
      if (changed) {
        process.kill(pid, "SIGHUP");
        await sleep(1_000);
      }
    } else {
      await assertPortFree(this.sshPort, `${this.name} sshd`);
      spawnDetached(SSHD, ["-D", "-e", "-f", config], { logFile: join(this.dir, "sshd.log"), pidFile: this.#sshdPid });
    }
    const err = await this.#waitFor("sshd", this.#sshdPid, join(this.dir, "sshd.log"), () => portOpen(this.sshPort));
    if (err) throw new Error(`${this.name}: ${err}`);
  }

  /** Address, client key and pinned host key; the host key exists from the first start on. */
  connection(): DockerHostConnection {
    const pub = `${this.#hostKeyPath}.pub`;
    if (!existsSync(pub)) throw new Error(`${this.name} has no host key yet: start it first`);
    return {
      name: this.hostName,
      host: "127.0.0.1",
      port: this.sshPort,
      username: "root",
      privateKeyPath: join(this.sshDir, "id_ed25519"),
      hostKey: readFileSync(pub, "utf8").trim(),
      hostKeyFingerprint: fingerprintOf(pub),
    };
  }

  processes(): { dockerd: HostProcess; containerd: HostProcess; sshd: HostProcess } {
    const one = (file: string): HostProcess => {
      const pid = readPid(file);
      return isAlive(pid) ? { pid, rssMb: rssMb(pid) } : { pid: null };
    };
    return { dockerd: one(this.#dockerdPid), containerd: one(this.#containerdPid), sshd: one(this.#sshdPid) };
  }

  /** sshd first (no new sessions), then dockerd, which stops its containers and its containerd. */
  async stop(): Promise<void> {
    await stopPid(this.#sshdPid);
    await stopPid(this.#dockerdPid, 40_000);
    // Only left behind if dockerd was killed; it is ours all the same.
    await stopPid(this.#containerdPid);
    this.#unmountLeftovers();
  }

  /**
   * dockerd pins network namespaces under its exec-root (`netns/default` once a container ran with
   * host networking) and does not always release them when it stops; a folder with a mount in it
   * cannot be deleted (`just clean`). Only mounts under this host's own exec-root are touched.
   */
  #unmountLeftovers(): void {
    if (!isRoot) return;
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((point) => point.startsWith(`${this.#execRoot}/`))
      .sort((a, b) => b.length - a.length);
    for (const point of mounts) run("umount", [point], { allowFailure: true });
  }

  async status(): Promise<ComponentStatus> {
    const p = this.processes();
    const running =
      p.dockerd.pid !== null && p.sshd.pid !== null && (await this.dockerReady()) && (await portOpen(this.sshPort));
    const mem = [p.dockerd, p.containerd, p.sshd].reduce((sum, x) => sum + (x.rssMb ?? 0), 0);
    const driverFile = join(this.dir, "storage-driver");
    const driver = existsSync(driverFile) ? readFileSync(driverFile, "utf8").trim() : "?";
    const fp = existsSync(`${this.#hostKeyPath}.pub`) ? fingerprintOf(`${this.#hostKeyPath}.pub`) : "no host key";
    return {
      running,
      pid: p.dockerd.pid,
      rssMb: running ? mem : undefined,
      detail: `ssh://root@127.0.0.1:${this.sshPort} ${fp} driver=${driver} rss dockerd/containerd/sshd=${p.dockerd.rssMb ?? "-"}/${p.containerd.rssMb ?? "-"}/${p.sshd.rssMb ?? "-"} MiB`,
    };
  }
}

/** The default hosts: host-1…host-N under `<local>/hosts`, sshd on consecutive ports. */
export function dockerHosts(local: string, basePort = 52201, count = 3): DockerHost[] {
  return Array.from(
    { length: count },
    (_, i) => new DockerHost(`host-${i + 1}`, join(local, "hosts", `host-${i + 1}`), basePort + i, join(local, "ssh")),
  );
}
