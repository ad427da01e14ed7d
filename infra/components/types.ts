/** Something the launcher can install, start, stop and describe. Every method is idempotent. */
export interface Component {
  readonly name: string;
  install(): Promise<void> | void;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<ComponentStatus>;
}

export interface ComponentStatus {
  running: boolean;
  detail: string;
  pid?: number | null;
  rssMb?: number;
}

export function rssMb(pid: number | null | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const status = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8") as string;
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : undefined;
  } catch {
    return undefined;
  }
}
