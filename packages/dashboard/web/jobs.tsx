/**
 * Jobs: the search box takes the API's filter syntax; facets are clickable filters; cursor paging;
 * rows of unfinished jobs are re-read every second (cached reads that the change feed keeps fresh),
 * so a job's status moves on screen without a reload. Job detail: steps, error, cancel.
 */
import { useEffect, useState } from "preact/hooks";
import { ApiError, FINAL_JOB, get, type JobDoc, type JobView, type SearchAnswer, write } from "./api.ts";
import { navigate } from "./router.ts";
import { Badge, duration, ErrorBanner, Panel, short, Table, useLoad, when } from "./ui.tsx";

/** Adds `field:value` to the query, or takes it away when it is there. */
export function toggleTerm(q: string, field: string, value: string): string {
  const term = `${field}:${value}`;
  const words = q.split(/\s+/).filter(Boolean);
  const has = words.some((w) => w.toLowerCase() === term);
  const rest = words.filter((w) => w.toLowerCase() !== term && !w.toLowerCase().startsWith(`${field}:`));
  return (has ? rest : [...rest, term]).join(" ");
}

function params(q: string, sort: string, cursor: string | null): string {
  const p = new URLSearchParams({ limit: "20", sort });
  if (q.trim()) p.set("q", q.trim());
  if (cursor) p.set("cursor", cursor);
  return p.toString();
}

/** Re-reads the visible unfinished jobs every second; what changed replaces the search's copy. */
function useLiveRows(items: JobDoc[]): JobDoc[] {
  const [fresh, setFresh] = useState<Record<string, Partial<JobDoc>>>({});
  const active = items.filter((j) => !FINAL_JOB.has(fresh[j.id]?.status ?? j.status)).map((j) => j.id);
  const key = active.join(",");
  useEffect(() => {
    if (!key) return;
    let stopped = false;
    const tick = async () => {
      const views = await Promise.all(key.split(",").map((id) => get<JobView>(`/v1/jobs/${id}`).catch(() => null)));
      if (stopped) return;
      setFresh((old) => {
        const next = { ...old };
        for (const v of views) {
          if (v)
            next[v.id] = {
              status: v.status,
              step: v.step,
              hostName: v.hostName,
              updatedAt: v.updatedAt,
              errorMessage: v.error?.message ?? null,
            };
        }
        return next;
      });
    };
    const timer = setInterval(tick, 1000);
    tick();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [key]);
  return items.map((j) => ({ ...j, ...fresh[j.id] }));
}

export function JobsPage({ query }: { query: URLSearchParams }) {
  const q = query.get("q") ?? "";
  const sort = query.get("sort") ?? "createdAt:desc";
  const [draft, setDraft] = useState(q);
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const [refreshTick, setRefreshTick] = useState(0);
  const { data, error } = useLoad(
    (signal) => get<SearchAnswer>(`/v1/jobs?${params(q, sort, cursor)}`, signal),
    [q, sort, cursor, refreshTick],
  );
  // The first page is searched again every few seconds (new jobs appear), more often while answers
  // come from the fallback, so the banner goes soon after Elasticsearch is back.
  const firstPage = cursors.length === 1;
  useEffect(() => {
    if (!data || (!data.degraded && !firstPage)) return;
    const t = setTimeout(() => setRefreshTick((n) => n + 1), data.degraded ? 3000 : 5000);
    return () => clearTimeout(t);
  }, [data, firstPage]);
  const rows = useLiveRows(data?.items ?? []);
  const go = (nq: string, ns = sort) => navigate("jobs", { q: nq, sort: ns });
  const filtered = (field: string, value: string) =>
    q.split(/\s+/).some((w) => w.toLowerCase() === `${field}:${value}`);

  return (
    <div>
      <h1>Jobs</h1>
      {data?.degraded && (
        <div class="banner degraded" role="status" data-testid="degraded-banner">
          Search is running on the fallback: Elasticsearch is unreachable, so results come from PostgreSQL. They are
          complete, but may be slower.
        </div>
      )}
      <form
        class="row panel"
        onSubmit={(e) => {
          e.preventDefault();
          go(draft);
        }}
      >
        <input
          class="search grow"
          type="text"
          name="q"
          aria-label="Search jobs"
          placeholder='status:failed type:workspace_create project:backend-api owner:me "disk full"'
          value={draft}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        />
        <select aria-label="Sort" value={sort} onChange={(e) => go(q, (e.target as HTMLSelectElement).value)}>
          <option value="createdAt:desc">Newest first</option>
          <option value="createdAt:asc">Oldest first</option>
        </select>
        <button class="primary" type="submit">
          Search
        </button>
      </form>
      <ErrorBanner error={error} />
      <div class="layout">
        <aside class="panel facets" aria-label="Facets">
          {(["status", "type"] as const).map((field) => (
            <div key={field}>
              <h3>{field}</h3>
              {Object.entries(data?.facets[field] ?? {})
                .sort((a, b) => b[1] - a[1])
                .map(([value, count]) => (
                  <button
                    key={value}
                    type="button"
                    class={filtered(field, value) ? "on" : ""}
                    data-facet={`${field}:${value}`}
                    onClick={() => go(toggleTerm(q, field, value))}
                  >
                    <span>{value.replace(/_/g, " ")}</span>
                    <span class="count">{count}</span>
                  </button>
                ))}
            </div>
          ))}
        </aside>
        <section class="panel">
          <div class="row muted">
            <span class="grow" data-testid="total">
              {data ? `${data.totalRelation === "gte" ? "at least " : ""}${data.total} jobs` : "searching…"}
            </span>
            {data && <span data-testid="source">from {data.source}</span>}
          </div>
          <Table
            headers={["Job", "Type", "Status", "Step", "Project", "Owner", "Host", "Created"]}
            empty={data && rows.length === 0 && "No job matches."}
          >
            {rows.map((j) => (
              <tr key={j.id} class="clickable" data-job={j.id} onClick={() => navigate(`jobs/${j.id}`)}>
                <td class="mono">{short(j.id)}</td>
                <td>{j.type.replace(/_/g, " ").toLowerCase()}</td>
                <td data-testid="status">
                  <Badge value={j.status} />
                </td>
                <td class="mono">{j.step ?? ""}</td>
                <td>{j.projectName ?? ""}</td>
                <td>{j.ownerName ?? short(j.userId)}</td>
                <td>{j.hostName ?? ""}</td>
                <td class="muted">{when(j.createdAt)}</td>
              </tr>
            ))}
          </Table>
          <div class="pager">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
              ← Previous
            </button>
            <span class="muted">page {cursors.length}</span>
            <button
              type="button"
              disabled={!data?.cursor}
              onClick={() => data?.cursor && setCursors((c) => [...c, data.cursor])}
            >
              Next →
            </button>
          </div>
        </section>
      </div>
    </div>
  );
}

export function JobDetail({ id }: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const j = await get<JobView>(`/v1/jobs/${encodeURIComponent(id)}`);
        if (stopped) return;
        setJob(j);
        setError(null);
        if (!FINAL_JOB.has(j.status)) timer = setTimeout(load, 1000);
      } catch (e) {
        if (stopped) return;
        setError(e);
        if (!(e instanceof ApiError && e.status < 500)) timer = setTimeout(load, 3000);
      }
    };
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id]);
  const cancel = async () => {
    try {
      await write("POST", `/v1/jobs/${encodeURIComponent(id)}/cancel`);
      setNotice("Cancel requested: the job stops at its next step boundary.");
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <p>
        <a href="#/jobs">← Jobs</a>
      </p>
      <ErrorBanner error={error} />
      {notice && <div class="banner info">{notice}</div>}
      {job && (
        <>
          <h1>
            {job.type.replace(/_/g, " ").toLowerCase()} <span class="mono muted">{job.id}</span>{" "}
            <span data-testid="job-status">
              <Badge value={job.status} />
            </span>
          </h1>
          <Panel
            actions={
              job.type === "WORKSPACE_CREATE" &&
              !FINAL_JOB.has(job.status) && (
                <button type="button" class="danger" onClick={cancel}>
                  Cancel job
                </button>
              )
            }
          >
            <dl class="kv">
              <dt>Workspace</dt>
              <dd class="mono">{job.workspaceId ?? "—"}</dd>
              <dt>Host</dt>
              <dd>{job.hostName ?? "—"}</dd>
              <dt>Attempts</dt>
              <dd>{job.attempts}</dd>
              <dt>Created</dt>
              <dd>{when(job.createdAt)}</dd>
              <dt>Finished</dt>
              <dd>{when(job.finishedAt)}</dd>
              {job.note && (
                <>
                  <dt>Note</dt>
                  <dd>{job.note}</dd>
                </>
              )}
              {job.error && (
                <>
                  <dt>Error</dt>
                  <dd class="error-text" data-testid="job-error">
                    {job.error.code}: {job.error.message}
                  </dd>
                </>
              )}
            </dl>
          </Panel>
          <Panel title="Steps">
            <ol class="steps">
              {job.steps.map((s) => (
                <li key={s.name} data-step={s.name}>
                  <span class={`dot ${s.status}`} />
                  <span class="mono">{s.name}</span>
                  <span>
                    {s.status} <span class="muted">{duration(s.startedAt, s.finishedAt)}</span>
                  </span>
                  <span class="muted">{s.message ?? ""}</span>
                </li>
              ))}
              {job.steps.length === 0 && <li class="muted">No step has started yet.</li>}
            </ol>
          </Panel>
        </>
      )}
    </div>
  );
}
