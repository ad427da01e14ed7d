/**
 * The cleanup daemon: on every reachable host, this deployment's workspace containers that no
 * workspace needs — its workspace missing, DELETED or FAILED, or running another container — and
 * that no unfinished job is working on, are removed once older than the grace period. Every
 * action is recorded (`cleanup_action`, a metric); in dry-run mode nothing is removed.
 *
 * Images too: builds no live workspace runs and no unfinished job needs, older than the image
 * retention, are marked REMOVED (out of use) and then removed from every host that has them
 * (recorded the same way); a host unreachable then is cleaned on a later pass. (A failed or interrupted build leaves no container: dockerd removes its intermediate
 * containers itself — `forcerm`, and a build whose client went away is canceled. Its untagged
 * layers stay as build cache; pruning them could pull a layer from under a build in progress.)
 */
import {
  claimImageRemoval,
  expiredImages,
  type Logger,
  recordCleanupAction,
  removeImageHost,
  type Sql,
} from "@a4c/shared";
import { LABELS } from "../hosts/docker-runtime.ts";
import type { HostPool, PooledHost } from "../hosts/host-pool.ts";
import type { ProvisionerMetrics } from "../metrics.ts";

export interface CleanupOptions {
  deployment: string;
  graceMs: number;
  dryRun: boolean;
  /** Hours an unused image is kept; 0 keeps images forever. */
  imageRetentionHours: number;
}

type Action = { host: string; containerId: string | null; imageId?: string; reason: string; action: string };

/** Why a container is an orphan, or null when something needs it. Pure. */
export function orphanReason(
  c: { id: string; createdAt: Date },
  ws: { status: string; container_id: string | null; busy: boolean } | null,
  now: number,
  graceMs: number,
): string | null {
  if (now - c.createdAt.getTime() < graceMs) return null;
  if (ws?.busy) return null;
  if (!ws) return "its workspace does not exist";
  if (ws.status === "DELETED") return "its workspace is deleted";
  if (ws.status === "FAILED") return "its workspace failed";
  if (ws.container_id && ws.container_id !== c.id) return "its workspace runs another container";
  return null;
}

export class CleanupDaemon {
  constructor(
    private readonly sql: Sql,
    private readonly pool: HostPool,
    private readonly metrics: ProvisionerMetrics,
    private readonly log: Logger,
    private readonly o: CleanupOptions,
  ) {}

  /** One pass over every host; the actions taken. */
  async sweep(): Promise<Action[]> {
    const done: Action[] = [];
    const hosts = await this.pool.refresh();
    for (const host of hosts) {
      if (host.row.state === "unreachable") continue;
      try {
        done.push(...(await this.#sweepHost(host)));
      } catch (err) {
        this.log.warn({ event: "cleanup.host_failed", host: host.row.name, err: (err as Error).message });
      }
    }
    if (this.o.imageRetentionHours > 0) done.push(...(await this.#sweepImages(hosts)));
    return done;
  }

  /** Expired images off every reachable host that has them; REMOVED once no host has them. */
  async #sweepImages(hosts: PooledHost[]): Promise<Action[]> {
    const done: Action[] = [];
    const reason = `unused for longer than the image retention (${this.o.imageRetentionHours} h)`;
    for (const image of await expiredImages(this.sql, this.o.imageRetentionHours)) {
      // Out of use first (a create that named it meanwhile keeps it), then off the hosts.
      if (!this.o.dryRun && image.status !== "REMOVED" && !(await claimImageRemoval(this.sql, image.id))) continue;
      for (const hostId of image.host_ids) {
        const host = hosts.find((h) => h.row.id === hostId);
        if (!host || host.row.state === "unreachable") continue;
        if (this.o.dryRun && (await this.#reported(hostId, "image_id", image.id))) continue;
        const remove = async () => {
          await host.runtime.removeImage(image.tag);
          await removeImageHost(this.sql, image.id, hostId);
        };
        done.push(await this.#removeAndRecord(host, { imageId: image.id, tag: image.tag }, reason, remove));
      }
    }
    return done;
  }

  async #sweepHost(host: PooledHost) {
    const containers = (await host.runtime.containersWithLabel(LABELS.workspace)).filter(
      (c) => c.labels[LABELS.deployment] === this.o.deployment,
    );
    if (containers.length === 0) return [];
    const ids = [...new Set(containers.map((c) => c.labels[LABELS.workspace] ?? ""))].filter((id) =>
      /^[0-9a-f-]{36}$/.test(id),
    );
    const rows = await this.sql<{ id: string; status: string; container_id: string | null; busy: boolean }[]>`
      SELECT w.id::text, w.status, w.container_id,
             EXISTS (SELECT 1 FROM job j WHERE j.workspace_id = w.id AND j.status IN ('SCHEDULED', 'IN_PROGRESS')) AS busy
        FROM workspace w WHERE w.id = ANY(${ids}::uuid[])`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const actions = [];
    for (const c of containers) {
      const wsId = c.labels[LABELS.workspace] ?? "";
      const reason = orphanReason(c, byId.get(wsId) ?? null, Date.now(), this.o.graceMs);
      if (!reason) continue;
      // Dry run: each orphan is reported once, not again on every sweep.
      if (this.o.dryRun && (await this.#reported(host.row.id, "container_id", c.id))) continue;
      const validId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(wsId);
      const target = { containerId: c.id, workspaceId: validId ? wsId : null };
      actions.push(await this.#removeAndRecord(host, target, reason, () => host.runtime.remove(c.id)));
    }
    return actions;
  }

  /** Dry run: whether this container or image was reported on this host already (each once). */
  async #reported(hostId: string, column: "container_id" | "image_id", id: string): Promise<boolean> {
    const rows = await this.sql`
      SELECT 1 FROM cleanup_action
       WHERE ${this.sql(column)} = ${id} AND host_id = ${hostId} AND action = 'would_remove' LIMIT 1`;
    return rows.length > 0;
  }

  /**
   * Removes a container or an image from a host (in dry-run mode: does not), and records what
   * happened and why: the cleanup record, the metric and the log.
   */
  async #removeAndRecord(
    host: PooledHost,
    target: { containerId: string; workspaceId: string | null } | { imageId: string; tag: string },
    reason: string,
    remove: () => Promise<void>,
  ): Promise<Action> {
    let action = this.o.dryRun ? "would_remove" : "removed";
    let detail: string | undefined;
    if (!this.o.dryRun) {
      try {
        await remove();
      } catch (err) {
        action = "failed";
        detail = (err as Error).message.slice(0, 500);
      }
    }
    this.metrics.cleanup.inc({ host: host.row.name, action });
    if ("imageId" in target) {
      // An image's record names its tag; the image id is beside it.
      await recordCleanupAction(this.sql, {
        hostId: host.row.id,
        containerId: null,
        workspaceId: null,
        imageId: target.imageId,
        reason: `${target.tag}: ${reason}`,
        action,
        detail,
      });
      this.log.info({ event: "cleanup.image", host: host.row.name, image: target.tag, action });
      return { host: host.row.name, containerId: null, imageId: target.imageId, reason, action };
    }
    const { containerId, workspaceId } = target;
    await recordCleanupAction(this.sql, { hostId: host.row.id, containerId, workspaceId, reason, action, detail });
    this.log.info({ event: "cleanup.action", host: host.row.name, containerId, workspaceId, reason, action });
    return { host: host.row.name, containerId, reason, action };
  }
}
