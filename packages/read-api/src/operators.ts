/**
 * The operators' views, straight from PostgreSQL (small, admin-only, never cached): the hosts with
 * their state and disk, and what the cleanup daemon removed or would have removed.
 */
import { listCleanupActions, listHosts, type Sql } from "@a4c/shared";

export class OperatorViews {
  constructor(private readonly sql: Sql) {}

  async hosts() {
    const rows = await listHosts(this.sql);
    return rows.map((h) => {
      const total = Number(h.disk_limit_bytes ?? h.total_bytes);
      const used = Number(h.used_bytes);
      const reserved = Number(h.reserved_bytes);
      return {
        id: h.id,
        name: h.name,
        sshAddress: `${h.ssh_host}:${h.ssh_port}`,
        state: h.state,
        disk: {
          usedBytes: used,
          reservedBytes: reserved,
          totalBytes: total,
          limited: h.disk_limit_bytes !== null,
          filesystemFreeBytes: Number(h.fs_free_bytes),
          usedPercent: total > 0 ? Math.round(((used + reserved) / total) * 1000) / 10 : null,
          checkedAt: h.disk_checked_at,
        },
        workspaces: h.workspaces,
        ports: { min: h.port_min, max: h.port_max },
        lastSeenAt: h.last_seen_at,
        lastError: h.last_error,
      };
    });
  }

  async cleanupActions(limit: number, before?: string) {
    const rows = await listCleanupActions(this.sql, limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      items: page.map((a) => ({
        id: a.id,
        hostId: a.host_id,
        hostName: a.host_name,
        containerId: a.container_id,
        workspaceId: a.workspace_id,
        imageId: a.image_id,
        reason: a.reason,
        action: a.action,
        detail: a.detail,
        createdAt: a.created_at,
      })),
      cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
    };
  }
}
