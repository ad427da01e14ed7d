import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, type JobView } from "./api.ts";

export function Badge({ value }: { value: string }) {
  return <span class={`badge ${value}`}>{value.replace(/_/g, " ").toLowerCase()}</span>;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  const seconds = Math.round((Date.now() - d.getTime()) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return d.toISOString().slice(0, 16).replace("T", " ");
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return "";
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v >= 10 || u === 0 ? 0 : 1)} ${units[u]}`;
}

/** An id's last 8 characters: the random end (our UUIDs are v7, whose first characters are the time). */
export const short = (id: string | null) => (id ? id.slice(-8) : "—");

export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError
      ? `${error.title}: ${error.detail}`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <div class="banner error" role="alert">
      {text}
    </div>
  );
}

/** Loads `load()` now and whenever `deps` change; `every` ms re-loads it while mounted. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], every?: number) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (d) => {
        setData(d);
        setError(null);
      },
      (e) => {
        if (!controller.signal.aborted) setError(e);
      },
    );
    const timer = every ? setTimeout(() => setTick((t) => t + 1), every) : undefined;
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

export function Panel({
  title,
  children,
  actions,
}: {
  title?: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="panel">
      {(title || actions) && (
        <div class="row">
          {title && <h2 class="grow">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

/** A table with its header row; `empty` (when given) is the row shown in place of none. */
export function Table({
  headers,
  empty,
  children,
}: {
  headers: string[];
  empty?: string | false | null | undefined;
  children: ComponentChildren;
}) {
  return (
    <table>
      <thead>
        <tr>
          {headers.map((h, i) => (
            <th key={`${i}-${h}`}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {children}
        {empty && (
          <tr>
            <td colSpan={headers.length} class="muted">
              {empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** A job's steps, each with its status, duration and what it did. */
export function Steps({ steps }: { steps: JobView["steps"] }) {
  return (
    <ol class="steps">
      {steps.map((s) => (
        <li key={s.name} data-step={s.name}>
          <span class={`dot ${s.status}`} />
          <span class="mono">{s.name}</span>
          <span>
            {s.status} <span class="muted">{duration(s.startedAt, s.finishedAt)}</span>
          </span>
          <span class="muted">{s.message ?? ""}</span>
        </li>
      ))}
      {steps.length === 0 && <li class="muted">No step has started yet.</li>}
    </ol>
  );
}

/** The cursors of a paged list: the first page's is null, then each page's `cursor`, in order. */
export type Cursors = Array<string | null>;

/**
 * Back and forth through a keyset-paged list: back drops the last cursor, forward adds the page's
 * own `next` cursor (none: the last page).
 */
export function Pager({
  cursors,
  setCursors,
  next,
  back = "← Newer",
  forward = "Older →",
  showPage = true,
}: {
  cursors: Cursors;
  setCursors: (update: (c: Cursors) => Cursors) => void;
  next: string | null | undefined;
  back?: string;
  forward?: string;
  showPage?: boolean;
}) {
  return (
    <div class="pager">
      <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
        {back}
      </button>
      {showPage && <span class="muted">page {cursors.length}</span>}
      <button type="button" disabled={!next} onClick={() => next && setCursors((c) => [...c, next])}>
        {forward}
      </button>
    </div>
  );
}
