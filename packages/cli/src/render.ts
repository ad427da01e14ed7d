/**
 * How things look: colours (on a terminal only: picocolors' own test also turns them on for `CI`
 * or a pipe with FORCE_COLOR, so we decide from the stream), borderless aligned tables, and the
 * small formats (short ids, durations, ages, sizes). Pure apart from `colorsFor`.
 */
import Table from "cli-table3";
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  const enabled = env.FORCE_COLOR ? env.FORCE_COLOR !== "0" : Boolean(stream.isTTY) && !env.NO_COLOR;
  return pc.createColors(enabled);
}

export function paintStatus(c: Colors, status: string): string {
  switch (status.toUpperCase()) {
    case "COMPLETED":
    case "RUNNING":
    case "DONE":
    case "ACTIVE":
      return c.green(status);
    case "FAILED":
    case "UNREACHABLE":
      return c.red(status);
    case "CANCELED":
    case "DELETED":
    case "SKIPPED":
    case "COMPENSATED":
      return c.dim(status);
    case "IN_PROGRESS":
    case "CREATING":
    case "DELETING":
    case "PENDING":
    case "SCHEDULED":
    case "DRAINING":
      return c.yellow(status);
    default:
      return status;
  }
}

/** The last 8 hex digits: UUIDv7 ids share their leading (time) digits, never their random tail. */
export function shortId(id: string | null | undefined): string {
  if (!id) return "-";
  const hex = id.replace(/-/g, "");
  return hex.length > 8 ? `…${hex.slice(-8)}` : id;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function between(from: string | null | undefined, to: string | null | undefined, now = Date.now()): string {
  if (!from) return "-";
  const end = to ? Date.parse(to) : now;
  return duration(end - Date.parse(from));
}

/** "5s ago", "3m ago", "2h ago", "4d ago"; the date itself beyond a month. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 30 * 86_400) return `${Math.floor(s / 86_400)}d ago`;
  return iso.slice(0, 10);
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** An aligned table without borders, headings dim, like `docker ps`. */
export function table(c: Colors, head: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "  ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  for (const row of rows) t.push(row.map((v) => (v === null || v === undefined || v === "" ? "-" : String(v))));
  return t
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

/** `label  value` lines, labels aligned; empty values left out. */
export function fields(c: Colors, pairs: Array<[string, string | number | null | undefined]>): string {
  const shown = pairs.filter(([, v]) => v !== null && v !== undefined && v !== "");
  const width = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${c.dim(k.padEnd(width))}  ${v}`).join("\n");
}

/** Facet counts as one line: `COMPLETED 12 · FAILED 3`, largest first. */
export function facetLine(c: Colors, counts: Record<string, number> | undefined): string {
  const entries = Object.entries(counts ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? "-" : entries.map(([k, n]) => `${paintStatus(c, k)} ${n}`).join(c.dim(" · "));
}
