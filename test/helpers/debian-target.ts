/**
 * A fresh Debian host for deploy tests: a minbase root made by debootstrap (cached like the image's
 * base, infra/lib/debian-root.ts) with only openssh-server added, run as a chroot whose own sshd
 * listens on a loopback port with a pinned host key and a key of the test's. It shares this
 * machine's network (so the deployed stack must use ports of its own) but nothing else of ours.
 * stop() ends every process whose root is this chroot, unmounts and removes it.
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { debianRootTarball } from "../../infra/lib/debian-root.ts";
import { isAlive, run, sleep, spawnDetached } from "../../infra/lib/shell.ts";
import { freePort } from "./ports.ts";

export interface DebianTarget {
  root: string;
  port: number;
  key: string;
  knownHosts: string;
  /** Runs a command inside the chroot (as root, no SSH). */
  exec(cmd: string): { code: number; out: string };
  /** Pids of the processes running inside the chroot. */
  processes(): number[];
  stop(): Promise<void>;
}

export async function startDebianTarget(dir: string): Promise<DebianTarget> {
  const root = join(dir, "root");
  mkdirSync(root, { recursive: true });
  const tarball = debianRootTarball(["openssh-server", "ca-certificates"]);
  run("tar", ["-C", root, "--numeric-owner", "-xf", tarball]);
  // The root is a mount point of its own, as on a real host: software that looks its data folder
  // up in /proc/self/mounts (Java's FileStore, so Elasticsearch) finds "/" there.
  run("mount", ["--bind", root, root]);
  run("mount", ["--make-private", root]);
  copyFileSync("/etc/resolv.conf", join(root, "etc", "resolv.conf"));
  run("mount", ["-t", "proc", "proc", join(root, "proc")]);
  for (const fs of ["dev", "sys"]) {
    run("mount", ["--rbind", `/${fs}`, join(root, fs)]);
    run("mount", ["--make-rslave", join(root, fs)]);
  }
  const key = join(dir, "id_ed25519");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "a4c-deploy-test", "-f", key]);
  mkdirSync(join(root, "root", ".ssh"), { recursive: true, mode: 0o700 });
  writeFileSync(join(root, "root", ".ssh", "authorized_keys"), readFileSync(`${key}.pub`));
  chmodSync(join(root, "root", ".ssh", "authorized_keys"), 0o600);
  const hostKey = join(root, "etc", "ssh", "a4c_test_host_key");
  rmSync(hostKey, { force: true });
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  mkdirSync(join(root, "run", "sshd"), { recursive: true });
  const port = await freePort();
  const knownHosts = join(dir, "known_hosts");
  const hostPub = readFileSync(`${hostKey}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const pidFile = join(dir, "sshd.pid");
  spawnDetached(
    "chroot",
    [
      root,
      "/usr/sbin/sshd",
      "-D",
      "-e",
      "-p",
      String(port),
      "-o",
      "ListenAddress=127.0.0.1",
      "-o",
      "HostKey=/etc/ssh/a4c_test_host_key",
      "-o",
      "PermitRootLogin=prohibit-password",
      "-o",
      "PasswordAuthentication=no",
      "-o",
      "PidFile=none",
    ],
    { logFile: join(dir, "sshd.log"), pidFile },
  );
  const exec = (cmd: string) => {
    // A clean environment, as at boot: nothing of this test process's leaks in.
    const r = run(
      "env",
      [
        "-i",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "chroot",
        root,
        "/bin/bash",
        "-c",
        cmd,
      ],
      {
        allowFailure: true,
      },
    );
    return { code: r.code, out: r.stdout + r.stderr };
  };
  const processes = () =>
    readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readlinkSync(`/proc/${p}/root`) === root;
        } catch {
          return false;
        }
      })
      .map(Number);
  for (let i = 0; i < 50; i++) {
    const r = run(
      "ssh",
      [
        "-p",
        String(port),
        "-i",
        key,
        "-o",
        "BatchMode=yes",
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "root@127.0.0.1",
        "true",
      ],
      { allowFailure: true },
    );
    if (r.code === 0) break;
    await sleep(200);
  }
  return {
    root,
    port,
    key,
    knownHosts,
    exec,
    processes,
    async stop() {
      // Every process of the chroot (sshd, supervisord and what it runs), TERM then KILL.
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        for (const pid of processes()) {
          try {
            process.kill(pid, signal);
          } catch {}
        }
        for (let i = 0; i < 100 && processes().some((p) => isAlive(p)); i++) await sleep(100);
      }
      run("umount", ["-R", root], { allowFailure: true });
      // Never remove the folder while anything is still mounted in it: that would reach this
      // machine's own /dev and /sys.
      const mounted = readFileSync("/proc/self/mounts", "utf8")
        .split("\n")
        .map((l) => l.split(" ")[1] ?? "")
        .filter((m) => m === root || m.startsWith(`${root}/`));
      if (mounted.length > 0) throw new Error(`still mounted, not removed: ${mounted.join(", ")}`);
      if (!process.env.A4C_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
    },
  };
}
