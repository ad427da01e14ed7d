/**
 * A Debian root file system made with debootstrap from Debian's own packages, as a tarball that
 * `docker import` turns into a base image. It stands in for the `debian:bookworm-slim` image a
 * machine with a registry would pull (none can be pulled here). Kept in a cache outside the
 * checkout, like ~/.m2, keyed by suite and package list: made once per machine (~1–3 min).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { aptInstall, run, say } from "./shell.ts";

export const SUITE = "bookworm";
const MIRROR = process.env.A4C_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const CACHE = process.env.A4C_CACHE_DIR ?? join(homedir(), ".cache", "a4c");

/**
 * What the A4C image needs from Debian: the launcher's infrastructure components find these
 * installed and install nothing at run time.
 */
export const IMAGE_PACKAGES = [
  "ca-certificates",
  "procps",
  "openssh-client",
  "postgresql",
  "postgresql-contrib",
  "nats-server",
  "redis-server",
  "redis-tools",
  "openjdk-17-jdk-headless",
  "unzip",
  "prometheus",
  "prometheus-alertmanager",
];

/** A short, stable name for a root of these packages (the base image's tag). */
export function rootKey(packages: string[]): string {
  return createHash("sha256")
    .update(`${SUITE}\n${[...packages].sort().join("\n")}`)
    .digest("hex")
    .slice(0, 12);
}

/** The tarball of a minbase root with `packages`, made if missing. Needs root (debootstrap). */
export function debianRootTarball(packages: string[]): string {
  const tarball = join(CACHE, `debian-${SUITE}-${rootKey(packages)}.tar`);
  if (existsSync(tarball)) return tarball;
  aptInstall(["debootstrap"]);
  mkdirSync(CACHE, { recursive: true });
  const dir = join(CACHE, `root-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const started = performance.now();
  say(`debootstrap ${SUITE} (minbase + ${packages.length} packages) into ${dir}…`);
  try {
    run("debootstrap", ["--variant=minbase", `--include=${packages.join(",")}`, SUITE, dir, MIRROR]);
    // What an image does not need: downloaded packages and indexes, docs, the package's own cluster.
    for (const d of ["var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"]) {
      rmSync(join(dir, d), { recursive: true, force: true });
      mkdirSync(join(dir, d), { recursive: true });
    }
    rmSync(join(dir, "var/lib/postgresql"), { recursive: true, force: true });
    const partial = `${tarball}.partial`;
    run("tar", ["-C", dir, "--numeric-owner", "-cf", partial, "."]);
    renameSync(partial, tarball);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  say(`Debian root ready in ${Math.round((performance.now() - started) / 1000)} s: ${tarball}`);
  return tarball;
}
