/**
 * The hosts this provisioner works on, from the `hosts` table: one SSH connection and one Docker
 * runtime per host, made when first needed and replaced when the host's address or key changes.
 */
import { type HostRow, listHosts, type Sql } from "@a4c/shared";
import { DockerRuntime } from "./docker-runtime.ts";
import { SshConnection } from "./ssh-connection.ts";

export interface PooledHost {
  row: HostRow;
  runtime: DockerRuntime;
}

export class HostPool {
  readonly #hosts = new Map<string, PooledHost>();

  constructor(
    private readonly sql: Sql,
    private readonly privateKey: Buffer,
    /** SSH connect, each Docker call, and the long ones (a build, an image's copy). */
    private readonly timeouts: { connectMs: number; callMs: number; longMs: number },
  ) {}

  /** Reads the hosts table again; returns every host. */
  async refresh(): Promise<PooledHost[]> {
    const rows = await listHosts(this.sql);
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      const known = this.#hosts.get(row.id);
      const same =
        known &&
        known.row.ssh_host === row.ssh_host &&
        known.row.ssh_port === row.ssh_port &&
        known.row.ssh_user === row.ssh_user &&
        known.row.host_key === row.host_key;
      if (known && same) {
        known.row = row;
        continue;
      }
      known?.runtime.ssh.close();
      const ssh = new SshConnection({
        name: row.name,
        host: row.ssh_host,
        port: row.ssh_port,
        username: row.ssh_user,
        privateKey: this.privateKey,
        hostKey: row.host_key,
        connectTimeoutMs: this.timeouts.connectMs,
      });
      this.#hosts.set(row.id, { row, runtime: new DockerRuntime(ssh, this.timeouts.callMs, this.timeouts.longMs) });
    }
    for (const [id, h] of this.#hosts) {
      if (!seen.has(id)) {
        h.runtime.ssh.close();
        this.#hosts.delete(id);
      }
    }
    return [...this.#hosts.values()];
  }

  /** The host with this id, reading the table again if it is new to this process. */
  async get(id: string): Promise<PooledHost> {
    const known = this.#hosts.get(id);
    if (known) return known;
    await this.refresh();
    const found = this.#hosts.get(id);
    if (!found) throw new Error(`host ${id} is not registered`);
    return found;
  }

  all(): PooledHost[] {
    return [...this.#hosts.values()];
  }

  close(): void {
    for (const h of this.#hosts.values()) h.runtime.ssh.close();
    this.#hosts.clear();
  }
}
