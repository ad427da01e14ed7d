/**
 * Jobs: the search box takes the API's filter syntax; facets are clickable filters; cursor paging.
 * Live: the server pushes every change of the caller's jobs (GET /v1/jobs/events, from
 * PostgreSQL's own notifications), so a job's status moves on screen without a reload, and a new
 * job brings the first page up to date. Job detail: steps, error, cancel, refreshed on each change.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { FINAL_JOB, get, type JobChange, type JobDoc, type JobView, listen, type SearchAnswer, write } from "./api.ts";
import { navigate } from "./router.ts";
import { Badge, type Cursors, ErrorBanner, Pager, Panel, Steps, short, Table, useLoad, when } from "./ui.tsx";

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

/**
 * The rows with what the server has pushed since the search answered (a pushed change wins only
 * when newer than the search's copy: Elasticsearch may lag). A change of a job not on screen, or
 * a resync, calls `searchAgain`.
 */
function useLiveRows(items: JobDoc[], searchAgain: () => void): JobDoc[] {
  const [fresh, setFresh] = useState<Record<string, JobChange>>({});
  const onScreen = useRef(new Set<string>());
  onScreen.current = new Set(items.map((j) => j.id));
  const again = useRef(searchAgain);
  again.current = searchAgain;
  useEffect(() => {
    let opened = 0;
    return listen(
      "/v1/jobs/events",
      (name, data) => {
        if (name === "job") {
          const c = data as JobChange;
          setFresh((old) => ((old[c.id]?.version ?? 0) >= c.version ? old : { ...old, [c.id]: c }));
          if (!onScreen.current.has(c.id)) again.current();
        }
        // A stream opened again (after a break) or told to resync may have missed changes.
        else if (name === "resync" || (name === "ready" && opened++ > 0)) again.current();
      },
      { reconnect: true },
    );
  }, []);
  return items.map((j) => {
    const f = fresh[j.id];
    return f && f.version > j.version ? { ...j, status: f.status, step: f.step } : j;
  });
}

export function JobsPage({ query }: { query: URLSearchParams }) {
  const q = query.get("q") ?? "";
  const sort = query.get("sort") ?? "createdAt:desc";
  const [draft, setDraft] = useState(q);
  const [cursors, setCursors] = useState<Cursors>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const [refreshTick, setRefreshTick] = useState(0);
  const { data, error } = useLoad(
    (signal) => get<SearchAnswer>(`/v1/jobs?${params(q, sort, cursor)}`, signal),
    [q, sort, cursor, refreshTick],
  );
  // While answers come from the fallback, search again every few seconds: the banner goes soon
  // after Elasticsearch is back. On the first page, a pushed new job searches again (at most
  // once a second; the search index follows the database within about a second).
  const firstPage = cursors.length === 1;
  useEffect(() => {
    if (!data?.degraded) return;
    const t = setTimeout(() => setRefreshTick((n) => n + 1), 3000);
    return () => clearTimeout(t);
  }, [data]);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => clearTimeout(pending.current ?? undefined), []);
  const searchAgain = () => {
    if (!firstPage || pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      setRefreshTick((n) => n + 1);
    }, 1000);
  };
  const rows = useLiveRows(data?.items ?? [], searchAgain);
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
          <Pager cursors={cursors} setCursors={setCursors} next={data?.cursor} back="← Previous" forward="Next →" />
        </section>
      </div>
    </div>
  );
}

export function JobDetail({ id }: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // Read at once, and again on every pushed change of this job (and when the stream (re)opens).
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const j = await get<JobView>(`/v1/jobs/${encodeURIComponent(id)}`);
        if (stopped) return;
        setJob(j);
        setError(null);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    const stop = listen(`/v1/jobs/events?ids=${encodeURIComponent(id)}`, () => void load(), { reconnect: true });
    return () => {
      stopped = true;
      stop();
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
              {job.imageId ? (
                <>
                  <dt>Image</dt>
                  <dd class="mono">
                    <a href={`#/images/${job.imageId}`}>{job.imageId}</a>
                  </dd>
                </>
              ) : (
                <>
                  <dt>Workspace</dt>
                  <dd class="mono">{job.workspaceId ?? "—"}</dd>
                </>
              )}
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
            <Steps steps={job.steps} />
          </Panel>
        </>
      )}
    </div>
  );
}
