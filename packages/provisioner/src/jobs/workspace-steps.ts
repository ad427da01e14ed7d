/**
 * The steps of the workspace jobs, each idempotent (a re-run after a crash finds what the last
 * run made: the container by its labels, the address and hostname already assigned), and the
 * compensation of a create that cannot finish.
 *   WORKSPACE_CREATE: place → image_transfer → container_create → setup → ip_assign → hostname_entry
 *   WORKSPACE_DELETE: container_remove → release
 */
import type { Readable } from "node:stream";
import {
  addImageHost,
  assignHostname,
  assignPort,
  builtImageByTag,
  type ClaimedJob,
  getWorkspace,
  imageHostIds,
  type Logger,
  placeWithReservation,
  removeImageHost,
  type Sql,
  setContainer,
  type WorkspaceRow,
} from "@a4c/shared";
import type { DiskService } from "../disk/disk-service.ts";
import { chooseHost, noRoomNote } from "../disk/placement.ts";
import { DockerRefusedError, LABELS, type ManagedContainer } from "../hosts/docker-runtime.ts";
import type { HostPool } from "../hosts/host-pool.ts";
import { HostUnreachableError } from "../hosts/ssh-connection.ts";
import { NoRoomError, StepFailedError } from "./errors.ts";

export const CREATE_STEPS = [
  "place",
  "image_transfer",
  "container_create",
  "setup",
  "ip_assign",
  "hostname_entry",
] as const;
export const DELETE_STEPS = ["container_remove", "release"] as const;
export type StepName = (typeof CREATE_STEPS)[number] | (typeof DELETE_STEPS)[number] | "build";

export interface WorkspaceLimits {
  diskBytes: number;
  inodes: number;
  memoryBytes: number;
  cpus: number;
  hostnameDomain: string;
  deployment: string;
  /** The image every host has (never transferred). */
  baseImage: string;
  /** Disk held on the build host while an image builds; memory and CPUs its steps may use. */
  buildDiskBytes: number;
  buildMemoryBytes: number;
  buildCpus: number;
}

export interface StepDeps {
  sql: Sql;
  pool: HostPool;
  disk: DiskService;
  limits: WorkspaceLimits;
  log: Logger;
}

/** What a step did, for its record. */
export type StepResult = string;

async function workspaceOf(d: StepDeps, job: ClaimedJob): Promise<WorkspaceRow> {
  const ws = await getWorkspace(d.sql, job.workspace_id);
  if (!ws) throw new StepFailedError("not_found", "the workspace no longer exists");
  return ws;
}

async function placedHost(d: StepDeps, ws: WorkspaceRow) {
  if (!ws.host_id) throw new StepFailedError("not_placed", "the workspace has no host (place did not run)");
  return d.pool.get(ws.host_id);
}

/** This deployment's containers of a workspace on its host (normally one). */
async function containersOf(d: StepDeps, ws: WorkspaceRow): Promise<ManagedContainer[]> {
  const host = await placedHost(d, ws);
  const found = await host.runtime.containersWithLabel(LABELS.workspace, ws.id);
  return found.filter((c) => c.labels[LABELS.deployment] === d.limits.deployment);
}

export const containerName = (workspaceId: string) => `a4c-${workspaceId}`;

export function hostnameFor(project: string, workspaceId: string, hostName: string, domain: string): string {
  // The random end of the id: a UUIDv7 begins with its creation time, shared by ids made together.
  // A DNS label (and a Linux hostname) holds at most 63 characters: the project part gives way.
  const label = `${project.slice(0, 54).replace(/-+$/, "")}-${workspaceId.replace(/-/g, "").slice(-8)}`;
  return `${label}.${hostName}.${domain}`;
}

export const createSteps: Record<(typeof CREATE_STEPS)[number], (d: StepDeps, job: ClaimedJob) => Promise<StepResult>> =
  {
    async place(d, job) {
      const ws = await workspaceOf(d, job);
      const need = d.limits.diskBytes;
      const image = ws.image === d.limits.baseImage ? null : await builtImageByTag(d.sql, ws.image);
      const haveImage = new Set(image ? await imageHostIds(d.sql, image.id) : []);
      let reasons: Record<string, string> = {};
      const { hostId, candidates } = await placeWithReservation(
        d.sql,
        { jobId: job.id, workspaceId: ws.id, bytes: need, exclude: [] },
        (hosts) => {
          // A resumed job keeps its host if it still holds a reservation there.
          if (ws.host_id && hosts.some((h) => h.id === ws.host_id && h.state === "active")) return ws.host_id;
          const decision = chooseHost(hosts, need, haveImage);
          reasons = decision.reasons;
          return decision.hostId;
        },
      );
      if (!hostId) throw new NoRoomError(noRoomNote({ hostId: null, reasons }, need, candidates.length));
      const chosen = candidates.find((c) => c.id === hostId);
      if (image && haveImage.has(hostId)) return `${chosen?.name ?? hostId}: has the image ${image.tag}`;
      // Read the host again soon: the next placement should see what this one will use.
      void d.disk.refresh(hostId).catch(() => {});
      return `${chosen?.name ?? hostId}: ${Math.round(((chosen?.usedBytes ?? 0) + (chosen?.reservedBytes ?? 0)) / 1048576)} MiB used and held, the least of ${candidates.filter((c) => c.state === "active").length} active hosts`;
    },

    /** Copies a built image to the host when it lacks it: `docker save` on a host that has it, `docker load` here. */
    async image_transfer(d, job) {
      const ws = await workspaceOf(d, job);
      if (ws.image === d.limits.baseImage) return "skipped: the base image is on every host";
      const image = await builtImageByTag(d.sql, ws.image);
      if (!image?.digest) throw new StepFailedError("image_not_found", `${ws.image} is not a built image`);
      const host = await placedHost(d, ws);
      const present = await host.runtime.image(image.tag);
      if (present?.id === image.digest) {
        await addImageHost(d.sql, image.id, host.row.id, "built");
        return `skipped: ${host.row.name} has ${image.tag}`;
      }
      const sources = (await imageHostIds(d.sql, image.id)).filter((id) => id !== host.row.id);
      let unreachable: HostUnreachableError | null = null;
      for (const sourceId of sources) {
        const source = await d.pool.get(sourceId);
        const started = performance.now();
        let tar: Readable | null = null;
        try {
          tar = await source.runtime.exportImage(image.tag);
          await host.runtime.loadImage(tar);
        } catch (err) {
          // The source failing is not this host failing: try the next source.
          if (err instanceof HostUnreachableError && err.host === source.row.name) {
            unreachable = err;
            continue;
          }
          // The source no longer has it (removed by hand): forget that it did, try the next one.
          if (err instanceof DockerRefusedError && err.statusCode === 404 && !tar) {
            await removeImageHost(d.sql, image.id, source.row.id);
            continue;
          }
          throw err;
        } finally {
          // A load that failed early leaves the export unread: close it, or its SSH channel waits.
          tar?.destroy();
        }
        const loaded = await host.runtime.image(image.tag);
        if (loaded?.id !== image.digest) {
          throw new StepFailedError("image_transfer_failed", `${host.row.name} loaded ${image.tag} but not its digest`);
        }
        await addImageHost(d.sql, image.id, host.row.id, "transferred");
        const ms = Math.round(performance.now() - started);
        return `copied ${image.tag} from ${source.row.name} to ${host.row.name} (save | load over SSH): ${(loaded.sizeBytes / 1048576).toFixed(1)} MiB in ${ms} ms`;
      }
      // Every host that has it is unreachable: retried later (and that host marked unreachable).
      if (unreachable) throw unreachable;
      throw new StepFailedError("image_unavailable", `no host has ${image.tag} any more`);
    },

    async container_create(d, job) {
      const ws = await workspaceOf(d, job);
      const host = await placedHost(d, ws);
      const [existing] = await containersOf(d, ws);
      const id =
        existing?.id ??
        (await host.runtime.createWorkspaceContainer({
          name: containerName(ws.id),
          image: ws.image,
          labels: {
            [LABELS.workspace]: ws.id,
            [LABELS.user]: ws.user_id,
            [LABELS.job]: job.id,
            [LABELS.deployment]: d.limits.deployment,
          },
          memoryBytes: d.limits.memoryBytes,
          nanoCpus: Math.round(d.limits.cpus * 1e9),
          workspaceBytes: d.limits.diskBytes,
          workspaceInodes: d.limits.inodes,
          hostname: hostnameFor(ws.project_name, ws.id, host.row.name, d.limits.hostnameDomain),
        }));
      await setContainer(d.sql, ws.id, id);
      await host.runtime.start(id);
      const verb = existing ? "found (labels) and started" : "created and started";
      return `container ${id.slice(0, 12)} ${verb} on ${host.row.name}: ${d.limits.memoryBytes / 1048576} MiB, ${d.limits.cpus} CPU, no network`;
    },

    async setup(d, job) {
      const ws = await workspaceOf(d, job);
      const host = await placedHost(d, ws);
      if (!ws.container_id) throw new StepFailedError("no_container", "the workspace has no container");
      const marker = JSON.stringify({ workspaceId: ws.id, project: ws.project_name, jobId: job.id });
      const script = [
        "set -e",
        `mkdir -p /workspace/${ws.project_name}`,
        `printf '%s\\n' '${marker}' > /workspace/.a4c-ready`,
        `test -s /workspace/.a4c-ready`,
      ].join("; ");
      const r = await host.runtime.exec(ws.container_id, script);
      if (r.code !== 0) {
        throw new StepFailedError(
          "setup_failed",
          `setup failed in the container (exit ${r.code}): ${r.output.slice(0, 500)}`,
        );
      }
      return `/workspace/${ws.project_name} created, marker written`;
    },

    async ip_assign(d, job) {
      const ws = await workspaceOf(d, job);
      const host = await placedHost(d, ws);
      const port = await assignPort(d.sql, ws.id);
      if (port === null) {
        throw new StepFailedError(
          "no_address",
          `no free port left in ${host.row.name}'s range ${host.row.port_min}–${host.row.port_max}`,
        );
      }
      return `${host.row.ssh_host}:${port}`;
    },

    async hostname_entry(d, job) {
      const ws = await workspaceOf(d, job);
      const host = await placedHost(d, ws);
      if (!ws.container_id) throw new StepFailedError("no_container", "the workspace has no container");
      const wanted = ws.hostname ?? hostnameFor(ws.project_name, ws.id, host.row.name, d.limits.hostnameDomain);
      if (!(await assignHostname(d.sql, ws.id, wanted))) {
        throw new StepFailedError("hostname_taken", `the hostname ${wanted} belongs to another live workspace`);
      }
      const entry = `127.0.0.1 ${wanted}`;
      const r = await host.runtime.exec(
        ws.container_id,
        `grep -qxF '${entry}' /etc/hosts || echo '${entry}' >> /etc/hosts`,
      );
      if (r.code !== 0)
        throw new StepFailedError(
          "hostname_failed",
          `could not add ${wanted} to /etc/hosts: ${r.output.slice(0, 300)}`,
        );
      return wanted;
    },
  };

export const deleteSteps: Record<(typeof DELETE_STEPS)[number], (d: StepDeps, job: ClaimedJob) => Promise<StepResult>> =
  {
    async container_remove(d, job) {
      const ws = await workspaceOf(d, job);
      if (!ws.host_id) return "skipped: the workspace was never placed";
      const host = await placedHost(d, ws);
      const found = await containersOf(d, ws);
      for (const c of found) await host.runtime.remove(c.id);
      return found.length
        ? `removed ${found.map((c) => c.id.slice(0, 12)).join(", ")} from ${host.row.name}`
        : "no container left";
    },

    // The address, hostname and disk are given back by finishJob, in the same transaction as the end.
    async release() {
      return "address, hostname and disk released";
    },
  };

/**
 * Undoes what a create made: its container (if its host answers; else the cleanup daemon removes it
 * once the host is back). The address, hostname and reservation go with the job's end.
 */
export async function compensateCreate(d: StepDeps, job: ClaimedJob): Promise<string> {
  const ws = await getWorkspace(d.sql, job.workspace_id);
  if (!ws?.host_id) return "nothing was made";
  try {
    const found = await containersOf(d, ws);
    const host = await d.pool.get(ws.host_id);
    for (const c of found) await host.runtime.remove(c.id);
    if (ws.container_id) await setContainer(d.sql, ws.id, null);
    return found.length ? `container removed from ${host.row.name}` : "no container was made";
  } catch (err) {
    d.log.warn({ event: "compensate.container_left", jobId: job.id, err });
    return `the container could not be removed now (${(err as Error).message}); the cleanup daemon will remove it`;
  }
}
