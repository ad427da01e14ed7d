/**
 * Where a workspace goes: the seeds' rule, the host with the least disk used, among the active
 * hosts with room for it. Pure: the disk service and the database supply the numbers.
 *
 * Disk used on a host = what its Docker holds under the data root (image layers, containers'
 * writable layers, volumes, read from the host) + what is held for workspaces there (reservations
 * of placements in flight, and the disk of workspaces that run). A host has room when that plus
 * the new workspace fits its capacity (the operator's `disk_limit_bytes`, else the filesystem),
 * and the filesystem itself still has the space free.
 */
import type { PlacementCandidate } from "@a4c/shared";

export interface PlacementDecision {
  hostId: string | null;
  /** Why each host was passed over, for the job's note when nothing fits. */
  reasons: Record<string, string>;
}

export const diskUsed = (h: PlacementCandidate): number => h.usedBytes + h.reservedBytes;

export const capacity = (h: PlacementCandidate): number => h.diskLimitBytes ?? h.totalBytes;

/**
 * The active host with room and the least disk used; among those with room, the hosts in `prefer`
 * come first (the ones that already have the workspace's image: no transfer needed).
 */
export function chooseHost(
  hosts: PlacementCandidate[],
  needBytes: number,
  prefer: ReadonlySet<string> = new Set(),
): PlacementDecision {
  const reasons: Record<string, string> = {};
  const fits: PlacementCandidate[] = [];
  for (const h of hosts) {
    if (h.state !== "active") reasons[h.name] = h.state;
    else if (h.totalBytes === 0) reasons[h.name] = "disk not read yet";
    else if (diskUsed(h) + needBytes > capacity(h))
      reasons[h.name] = `full (${mib(capacity(h) - diskUsed(h))} MiB left)`;
    else if (h.fsFreeBytes - h.reservedBytes < needBytes) reasons[h.name] = "filesystem full";
    else fits.push(h);
  }
  const rank = (h: PlacementCandidate) => (prefer.has(h.id) ? 0 : 1);
  fits.sort((a, b) => rank(a) - rank(b) || diskUsed(a) - diskUsed(b) || a.name.localeCompare(b.name));
  return { hostId: fits[0]?.id ?? null, reasons };
}

const mib = (bytes: number) => Math.max(0, Math.floor(bytes / 1048576));

/** "no host has room for 64 MiB: host-1 draining, host-2 full (10 MiB left)". */
export function noRoomNote(decision: PlacementDecision, needBytes: number, total: number): string {
  const why = Object.entries(decision.reasons).map(([name, reason]) => `${name} ${reason}`);
  if (total === 0) return "waiting for a host: none is registered";
  return `waiting for a host with ${mib(needBytes)} MiB free: ${why.join(", ")}`;
}
