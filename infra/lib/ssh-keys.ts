/**
 * SSH key material for the simulated bare-metal hosts: one client key pair shared by the project
 * (what the provisioner authenticates with) and one host key per sshd (what clients pin).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { run } from "./shell.ts";

export interface KeyPair {
  privateKeyPath: string;
  /** The OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
  publicKey: string;
}

/** Generates an unencrypted ed25519 key at `path` unless one is there; never overwrites. */
export function ensureKeyPair(path: string, comment: string): KeyPair {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path) || !existsSync(`${path}.pub`)) {
    // A half-written pair (crash between the two files) is replaced whole.
    rmSync(path, { force: true });
    rmSync(`${path}.pub`, { force: true });
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  }
  // sshd and ssh refuse private keys others can read.
  chmodSync(path, 0o600);
  return { privateKeyPath: path, publicKey: readFileSync(`${path}.pub`, "utf8").trim() };
}

/** The project's client key, `<sshDir>/id_ed25519`. */
export function ensureClientKey(sshDir: string): KeyPair {
  return ensureKeyPair(join(sshDir, "id_ed25519"), "a4c-provisioner");
}

/** OpenSSH's own SHA256 fingerprint of a public key file, e.g. `SHA256:abc…`. */
export function fingerprintOf(publicKeyPath: string): string {
  const out = run("ssh-keygen", ["-l", "-E", "sha256", "-f", publicKeyPath]).stdout;
  const fp = /(SHA256:\S+)/.exec(out)?.[1];
  if (!fp) throw new Error(`could not read the fingerprint of ${publicKeyPath}: ${out}`);
  return fp;
}

/** sshd refuses to start without its privilege-separation directory (systemd makes it normally). */
export function ensurePrivilegeSeparationDir(): void {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
}
