/**
 * One SSH connection per host, shared by every call to it: commands run as exec channels on it,
 * and Docker API requests as channels forwarded straight to dockerd's unix socket
 * (`direct-streamlocal@openssh.com`: no process is started on the host per request, unlike
 * `docker system dial-stdio`; dockerode's own `ssh` protocol even opens a new SSH connection per
 * request). The host key is pinned; the
 * connection is made on first use and again after it drops; every call is bounded in time.
 */
import { Agent } from "node:http";
import type { Duplex } from "node:stream";
import { pinnedHostVerifier } from "@a4c/shared";
import { Client, type ClientChannel } from "ssh2";

export interface SshTarget {
  name: string;
  host: string;
  port: number;
  username: string;
  privateKey: Buffer;
  hostKey: string;
  connectTimeoutMs: number;
}

/** A host that cannot be reached or did not answer in time: worth retrying later. */
export class HostUnreachableError extends Error {
  constructor(
    readonly host: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${host}: ${message}`, options);
    this.name = "HostUnreachableError";
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Channels open at once per connection; sshd's MaxSessions must be at least this. */
const MAX_CHANNELS = 32;

export class SshConnection {
  #client: Client | null = null;
  #ready: Promise<Client> | null = null;
  #dockerSocket: Promise<string> | null = null;
  #open = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly target: SshTarget) {}

  /** The live connection, connecting (once, for all callers) when there is none. */
  connection(): Promise<Client> {
    if (this.#ready) return this.#ready;
    const t = this.target;
    const client = new Client();
    this.#ready = new Promise<Client>((resolve, reject) => {
      const fail = (err: Error) => {
        this.#drop(client);
        reject(new HostUnreachableError(t.name, `ssh ${t.host}:${t.port}: ${err.message}`, { cause: err }));
      };
      client.once("ready", () => {
        client.removeListener("error", fail);
        client.on("error", () => this.#drop(client));
        resolve(client);
      });
      client.once("error", fail);
      // A close before `ready` (without an error) must not leave callers waiting: ssh2 clears its
      // readyTimeout on close. After `ready` this reject is a no-op.
      client.once("close", () => {
        this.#drop(client);
        reject(new HostUnreachableError(t.name, `ssh ${t.host}:${t.port}: connection closed during the handshake`));
      });
      client.connect({
        host: t.host,
        port: t.port,
        username: t.username,
        privateKey: t.privateKey,
        hostVerifier: pinnedHostVerifier(t.hostKey),
        readyTimeout: t.connectTimeoutMs,
        keepaliveInterval: 5_000,
        keepaliveCountMax: 2,
        tryKeyboard: false,
      });
    });
    this.#client = client;
    // A failed connect must not leave an unhandled rejection for callers that never came.
    this.#ready.catch(() => {});
    return this.#ready;
  }

  #drop(client: Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#ready = null;
    this.#dockerSocket = null;
    client.end();
  }

  get connected(): boolean {
    return this.#client !== null;
  }

  async #slot(signal: AbortSignal): Promise<() => void> {
    const busy = () => new HostUnreachableError(this.target.name, "every channel is busy: timed out waiting for one");
    while (this.#open >= MAX_CHANNELS) {
      if (signal.aborted) throw busy();
      await new Promise<void>((resolve) => {
        // Woken by a release or by the deadline; either way it leaves the queue, so a release
        // never wakes a waiter that already gave up.
        const wake = () => {
          signal.removeEventListener("abort", wake);
          const at = this.#waiting.indexOf(wake);
          if (at >= 0) this.#waiting.splice(at, 1);
          resolve();
        };
        this.#waiting.push(wake);
        signal.addEventListener("abort", wake, { once: true });
      });
    }
    if (signal.aborted) throw busy();
    this.#open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
      this.#waiting.shift()?.();
    };
  }

  /**
   * Opens a channel with `open` under a slot, bounded by `signal`; the slot is freed when the
   * channel closes. A channel that arrives after the deadline is closed at once, never leaked.
   */
  async #openChannel(
    what: string,
    signal: AbortSignal,
    open: (client: Client, done: (err: Error | undefined, ch: ClientChannel) => void) => void,
  ): Promise<ClientChannel> {
    const release = await this.#slot(signal);
    try {
      const client = await this.connection();
      return await new Promise<ClientChannel>((resolve, reject) => {
        let settled = false;
        const onAbort = () => {
          if (settled) return;
          settled = true;
          reject(new HostUnreachableError(this.target.name, `${what}: no channel in time`));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        open(client, (err, ch) => {
          signal.removeEventListener("abort", onAbort);
          if (settled) {
            ch?.close();
            return;
          }
          settled = true;
          if (err) {
            reject(new HostUnreachableError(this.target.name, `${what} refused: ${err.message}`, { cause: err }));
            return;
          }
          ch.once("close", release);
          resolve(ch);
        });
      });
    } catch (err) {
      release();
      throw err;
    }
  }

  /** An exec channel running `command`. */
  #channel(command: string, signal: AbortSignal): Promise<ClientChannel> {
    return this.#openChannel(`exec ${command.slice(0, 60)}`, signal, (client, done) => client.exec(command, done));
  }

  /** Runs a command on the host; its exit code and output. Bounded by `timeoutMs`. */
  async run(command: string, timeoutMs: number): Promise<CommandResult> {
    const signal = AbortSignal.timeout(timeoutMs);
    const channel = await this.#channel(command, signal);
    return new Promise<CommandResult>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      const onAbort = () => {
        channel.close();
        reject(new HostUnreachableError(this.target.name, `${command}: no answer in ${timeoutMs} ms`));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
      channel.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      channel.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      let code = -1;
      channel.once("exit", (exitCode: number | null) => {
        code = exitCode ?? -1;
      });
      channel.once("close", () => {
        signal.removeEventListener("abort", onAbort);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Where the host's dockerd listens: its login environment's DOCKER_HOST, else Docker's default. */
  #socketPath(timeoutMs: number): Promise<string> {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, run on the host.
    this.#dockerSocket ??= this.run('printf %s "${DOCKER_HOST:-unix:///var/run/docker.sock}"', timeoutMs).then((r) => {
      const m = /^unix:\/\/(\/.+)$/.exec(r.stdout.trim());
      if (r.code !== 0 || !m?.[1])
        throw new HostUnreachableError(this.target.name, `no unix DOCKER_HOST: ${r.stdout}${r.stderr}`);
      return m[1];
    });
    this.#dockerSocket.catch(() => {
      this.#dockerSocket = null;
    });
    return this.#dockerSocket;
  }

  /** A channel on this connection to the host's dockerd socket. */
  async #dockerChannel(signal: AbortSignal, timeoutMs: number): Promise<ClientChannel> {
    const path = await this.#socketPath(timeoutMs);
    return this.#openChannel("dockerd socket", signal, (client, done) =>
      client.openssh_forwardOutStreamLocal(path, done),
    );
  }

  /**
   * An HTTP agent whose every connection is a channel to dockerd's socket on this SSH connection:
   * dockerode talks to the host's dockerd through it. A channel lives at most `timeoutMs` (one
   * request each): one left hanging by a frozen dockerd is closed, never leaked.
   */
  dockerAgent(timeoutMs: number): Agent {
    const agent = new Agent({ keepAlive: false });
    const connect = (_options: unknown, done: (err: Error | null, socket?: Duplex) => void) => {
      this.#dockerChannel(AbortSignal.timeout(timeoutMs), timeoutMs).then(
        (ch) => {
          const cap = setTimeout(() => ch.close(), timeoutMs + 1_000);
          ch.once("close", () => clearTimeout(cap));
          done(null, ch as unknown as Duplex);
        },
        (err: Error) => done(err),
      );
    };
    (agent as unknown as { createConnection: typeof connect }).createConnection = connect;
    return agent;
  }

  close(): void {
    if (this.#client) this.#drop(this.#client);
  }
}
