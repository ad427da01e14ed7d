/**
 * A Docker Engine client for one bare-metal host, reached over SSH with the host's key pinned.
 *
 * dockerode's `protocol: "ssh"` (docker-modem lib/ssh.js) opens an ssh2 connection per HTTP
 * request and runs `docker system dial-stdio` on the far side; docker-modem hands `sshOptions`
 * to ssh2's `Client.connect` unchanged, so ssh2's `hostVerifier` decides whether the handshake
 * may go on. ssh2 calls it with the server's public key blob (SSH wire format: the base64 part
 * of an OpenSSH `.pub` line, decoded) when `hostHash` is unset; returning false aborts the
 * connection before authentication, so nothing is sent to an impostor and the request rejects.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import Docker from "dockerode";

export interface RemoteDockerHost {
  /** Address of the host's sshd. */
  host: string;
  port: number;
  /** Account that may run `docker`; root on our hosts. */
  username?: string;
  /** OpenSSH private key (PEM / OpenSSH format) of the project's client key. */
  privateKey: string | Buffer;
  /**
   * The pinned host key: an OpenSSH public key line (`ssh-ed25519 AAAA… comment`) or its
   * fingerprint as `ssh-keygen -l` prints it (`SHA256:…`). A host presenting another key is refused.
   */
  hostKey: string;
  /** Bound on the SSH handshake (ssh2 `readyTimeout`). */
  connectTimeoutMs?: number;
}

/** The key blob of an OpenSSH public key line (`type base64 [comment]`). */
export function hostKeyBlob(publicKeyLine: string): Buffer {
  const [type, b64] = publicKeyLine.trim().split(/\s+/);
  if (!type || !b64) throw new Error("host key must be an OpenSSH public key line: '<type> <base64> [comment]'");
  const blob = Buffer.from(b64, "base64");
  // The blob starts with its own type name; a mismatch means a corrupt or mislabelled key.
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLength < 0 || blob.subarray(4, 4 + nameLength).toString() !== type) {
    throw new Error(`host key blob does not match its type ${type}`);
  }
  return blob;
}

/** OpenSSH's SHA256 fingerprint (`SHA256:` + unpadded base64) of a key blob or public key line. */
export function hostKeyFingerprint(key: Buffer | string): string {
  const blob = typeof key === "string" ? hostKeyBlob(key) : key;
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** A predicate over the key ssh2 presents, true only for the pinned key. */
export function pinnedHostVerifier(hostKey: string): (presented: Buffer) => boolean {
  const pin = hostKey.trim();
  if (pin.startsWith("SHA256:")) {
    const expected = Buffer.from(pin);
    return (presented) => {
      const actual = Buffer.from(hostKeyFingerprint(presented));
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    };
  }
  const expected = hostKeyBlob(pin);
  return (presented) =>
    Buffer.isBuffer(presented) && presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** A dockerode client for `target` that refuses any host whose key is not the pinned one. */
export function createRemoteDocker(target: RemoteDockerHost): Docker {
  const verify = pinnedHostVerifier(target.hostKey);
  return new Docker({
    protocol: "ssh",
    host: target.host,
    port: target.port,
    username: target.username ?? "root",
    // No dockerode `timeout`: docker-modem calls setTimeout on the socket, and the ssh2 channel
    // it gets over SSH has none (TypeError thrown outside the request's promise, which then never
    // settles). Bound calls with an `abortSignal` option or a deadline around them instead.
    sshOptions: {
      privateKey: target.privateKey,
      hostVerifier: verify,
      readyTimeout: target.connectTimeoutMs ?? 10_000,
      // Our key only: no agent, no keyboard-interactive. (docker-modem itself still adds
      // SSH_AUTH_SOCK when the environment's DOCKER_HOST is an ssh:// URL.)
      agent: undefined,
      tryKeyboard: false,
    },
  });
}
