/**
 * Every host's disk use, read from the host itself (Docker's `system df` plus `df` of the
 * filesystem under its data root, over SSH), periodically and on demand. A host that does not
 * answer is marked unreachable, and active again as soon as it answers.
 */
import { type Logger, markHostUnreachable, recordHostSeen, type Sql } from "@a4c/shared";
import type { HostPool, PooledHost } from "../hosts/host-pool.ts";
import { HostUnreachableError } from "../hosts/ssh-connection.ts";
import type { ProvisionerMetrics } from "../metrics.ts";

export class DiskService {
  constructor(
    private readonly sql: Sql,
    private readonly pool: HostPool,
    private readonly metrics: ProvisionerMetrics,
    private readonly log: Logger,
  ) {}

  /** Reads every registered host; returns how many answered. */
  async refreshAll(): Promise<number> {
    const hosts = await this.pool.refresh();
    const answered = await Promise.all(hosts.map((h) => this.#read(h)));
    return answered.filter(Boolean).length;
  }

  /** Reads one host now (after a placement, or before trusting an old reading). */
  async refresh(hostId: string): Promise<boolean> {
    return this.#read(await this.pool.get(hostId));
  }

  async #read(h: PooledHost): Promise<boolean> {
    const started = performance.now();
    try {
      const [usedBytes, fs] = await Promise.all([h.runtime.dockerBytes(), h.runtime.dataRootFilesystem()]);
      await recordHostSeen(this.sql, h.row.id, { usedBytes, totalBytes: fs.totalBytes, fsFreeBytes: fs.freeBytes });
      this.metrics.hostUp.set({ host: h.row.name }, 1);
      this.metrics.hostDiskUsed.set({ host: h.row.name }, usedBytes);
      this.metrics.diskReadSeconds.observe({ host: h.row.name }, (performance.now() - started) / 1000);
      if (h.row.state === "unreachable") this.log.info({ event: "host.reachable", host: h.row.name });
      return true;
    } catch (err) {
      if (!(err instanceof HostUnreachableError)) throw err;
      await this.markUnreachable(h, err);
      return false;
    }
  }

  async markUnreachable(h: PooledHost, err: Error): Promise<void> {
    this.metrics.hostUp.set({ host: h.row.name }, 0);
    if (await markHostUnreachable(this.sql, h.row.id, err.message.slice(0, 500))) {
      this.log.warn({ event: "host.unreachable", host: h.row.name, err: err.message });
    }
  }
}
