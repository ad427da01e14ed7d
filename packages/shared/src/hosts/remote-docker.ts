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
import Docker from "dockerode";
import { pinnedHostVerifier } from "./host-keys.ts";

export { hostKeyBlob, hostKeyFingerprint, pinnedHostVerifier } from "./host-keys.ts";

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
