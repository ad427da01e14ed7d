/**
 * Images: the list (status, tag, size, hosts; filtered by repository and status, in the URL) and
 * one image with its build's steps and log. A build that is still running is followed live: its
 * job, image and the log's new lines are read every second, and at once on each pushed change of
 * its job (GET /v1/jobs/events, which the admin receives for builds). For the admin: the build
 * schedules (list, create, delete) and a new CI token, shown once.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import {
  FINAL_JOB,
  follow,
  get,
  type Image,
  type ImagePage,
  type JobLog,
  type JobView,
  type LogLine,
  listen,
  type Me,
  type OperationView,
  type Schedule,
  write,
} from "./api.ts";
import { navigate } from "./router.ts";
import { Badge, bytes, type Cursors, ErrorBanner, Pager, Panel, Steps, short, Table, useLoad, when } from "./ui.tsx";

const STATUSES = ["BUILDING", "READY", "FAILED", "REMOVED"] as const;

/** How an operation the page started is doing, in words. */
function progress(v: OperationView): string {
  if (v.status === "pending") return "accepted, waiting to be applied…";
  if (v.status === "failed") return `failed: ${v.error?.code}: ${v.error?.message}`;
  return "done";
}

function hostsOf(i: Image): string {
  return i.hosts.length === 0 ? "—" : i.hosts.map((h) => h.name).join(", ");
}

export function ImagesPage({ me, query }: { me: Me; query: URLSearchParams }) {
  const repository = query.get("repository") ?? "";
  const status = query.get("status") ?? "";
  const [draft, setDraft] = useState({ repository, status });
  const [cursors, setCursors] = useState<Cursors>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const [building, setBuilding] = useState(false);
  // Read again every 2 s while an image on screen is building, every 15 s otherwise.
  const list = useLoad(
    (signal) => {
      const p = new URLSearchParams({ limit: "50" });
      if (repository) p.set("repository", repository);
      if (status) p.set("status", status);
      if (cursor) p.set("cursor", cursor);
      return get<ImagePage>(`/v1/images?${p}`, signal);
    },
    [repository, status, cursor, building],
    building ? 2000 : 15_000,
  );
  useEffect(() => {
    setBuilding(Boolean(list.data?.items.some((i) => i.status === "BUILDING")));
  }, [list.data]);
  const filter = (e: Event) => {
    e.preventDefault();
    navigate("images", { repository: draft.repository.trim().toLowerCase(), status: draft.status });
  };
  const items = list.data?.items ?? [];
  return (
    <div>
      <h1>Images</h1>
      <form class="row panel" onSubmit={filter}>
        <input
          class="grow mono"
          type="text"
          name="repository"
          aria-label="Repository"
          placeholder="repository (e.g. team/app)"
          value={draft.repository}
          onInput={(e) => setDraft((d) => ({ ...d, repository: (e.target as HTMLInputElement).value }))}
        />
        <select
          name="status"
          aria-label="Status"
          value={draft.status}
          onChange={(e) => setDraft((d) => ({ ...d, status: (e.target as HTMLSelectElement).value }))}
        >
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        <button class="primary" type="submit">
          Filter
        </button>
        {(repository || status) && <a href="#/images">Clear</a>}
      </form>
      <ErrorBanner error={list.error} />
      <Panel>
        <Table
          headers={["Tag", "Status", "Size", "Hosts", "Created", "Built"]}
          empty={
            list.data &&
            items.length === 0 &&
            (repository || status ? "No image matches." : "No images yet: CI (or the admin) requests builds.")
          }
        >
          {items.map((i) => (
            <tr key={i.id} class="clickable" data-image={i.id} onClick={() => navigate(`images/${i.id}`)}>
              <td>
                <span class="mono">{i.tag}</span>
                {i.ref && <span class="muted"> · {i.ref}</span>}
                {i.scheduleId && <span class="muted"> · scheduled</span>}
              </td>
              <td data-testid="image-status">
                <Badge value={i.status} />
              </td>
              <td>{i.sizeBytes === null ? "—" : bytes(i.sizeBytes)}</td>
              <td>{hostsOf(i)}</td>
              <td class="muted">{when(i.createdAt)}</td>
              <td class="muted">{when(i.builtAt)}</td>
            </tr>
          ))}
        </Table>
        <Pager cursors={cursors} setCursors={setCursors} next={list.data?.cursor} />
      </Panel>
      {me.kind === "admin" && (
        <>
          <SchedulesPanel />
          <CiTokenPanel />
        </>
      )}
    </div>
  );
}

/**
 * One image, its build job and the job's log, read again every second until the build has ended
 * (and at once on each pushed change of the job); the log is read on from its last line.
 */
function useBuild(id: string) {
  const [image, setImage] = useState<Image | null>(null);
  const [job, setJob] = useState<JobView | null>(null);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    let ended = false;
    let after = "0";
    let running = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopEvents: (() => void) | null = null;
    setImage(null);
    setJob(null);
    setLines([]);
    const readLog = async (jobId: string) => {
      for (;;) {
        const page = await get<JobLog>(`/v1/jobs/${encodeURIComponent(jobId)}/log?after=${after}&limit=1000`);
        if (stopped) return;
        const last = page.lines.at(-1);
        if (last) {
          after = last.id;
          setLines((old) => [...old, ...page.lines]);
        }
        if (page.next === null || !last) return;
      }
    };
    const refresh = async () => {
      const img = await get<Image>(`/v1/images/${encodeURIComponent(id)}`);
      const j = await get<JobView>(`/v1/jobs/${encodeURIComponent(img.jobId)}`);
      // After the job: once the job has ended, this read has its every line.
      await readLog(img.jobId);
      if (stopped) return;
      setImage(img);
      setJob(j);
      setError(null);
      ended = FINAL_JOB.has(j.status) && img.status !== "BUILDING";
      if (!stopEvents && !ended) {
        stopEvents = listen(`/v1/jobs/events?ids=${encodeURIComponent(img.jobId)}`, () => kick(), {
          reconnect: true,
        });
      }
    };
    // One read at a time; asked for while one runs, it runs once more after it.
    const kick = async () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      clearTimeout(timer);
      do {
        again = false;
        try {
          await refresh();
        } catch (e) {
          if (!stopped) setError(e);
        }
      } while (again && !stopped);
      running = false;
      if (stopped) return;
      if (ended) {
        stopEvents?.();
        stopEvents = null;
      } else timer = setTimeout(kick, 1000);
    };
    void kick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      stopEvents?.();
    };
  }, [id]);
  return { image, job, lines, error };
}

export function ImageDetail({ id }: { id: string }) {
  const { image, job, lines, error } = useBuild(id);
  const log = useRef<HTMLDivElement>(null);
  const live = job !== null && !FINAL_JOB.has(job.status);
  // While the build runs, the newest line stays in view.
  useEffect(() => {
    const el = log.current;
    if (el && live) el.scrollTop = el.scrollHeight;
  }, [lines.length, live]);
  return (
    <div>
      <p>
        <a href="#/images">← Images</a>
      </p>
      <ErrorBanner error={error} />
      {image && (
        <>
          <h1>
            <span class="mono tag">{image.tag}</span>{" "}
            <span data-testid="image-detail-status">
              <Badge value={image.status} />
            </span>
          </h1>
          <Panel>
            <dl class="kv">
              <dt>Image</dt>
              <dd class="mono">{image.id}</dd>
              <dt>Repository</dt>
              <dd class="mono">{image.repository}</dd>
              <dt>Commit</dt>
              <dd class="mono">{image.commitSha}</dd>
              <dt>Ref</dt>
              <dd class="mono">{image.ref ?? "—"}</dd>
              <dt>Digest</dt>
              <dd class="mono">{image.digest ?? "—"}</dd>
              <dt>Size</dt>
              <dd>{image.sizeBytes === null ? "—" : bytes(image.sizeBytes)}</dd>
              <dt>Hosts</dt>
              <dd data-testid="image-hosts">
                {image.hosts.length === 0 ? "—" : image.hosts.map((h) => `${h.name} (${h.how})`).join(", ")}
              </dd>
              <dt>Build job</dt>
              <dd class="mono">
                <a href={`#/jobs/${image.jobId}`}>{image.jobId}</a>
              </dd>
              {image.scheduleId && (
                <>
                  <dt>Schedule</dt>
                  <dd class="mono">{image.scheduleId}</dd>
                </>
              )}
              <dt>Created</dt>
              <dd>{when(image.createdAt)}</dd>
              <dt>Built</dt>
              <dd>{when(image.builtAt)}</dd>
              {job?.error && (
                <>
                  <dt>Error</dt>
                  <dd class="error-text lines" data-testid="build-error">
                    {job.error.code}: {job.error.message}
                  </dd>
                </>
              )}
            </dl>
            {image.status === "READY" && (
              <p class="muted">
                A workspace runs it when created with the image <span class="mono">{image.tag}</span>.
              </p>
            )}
          </Panel>
          <Panel title="Build steps">{job ? <Steps steps={job.steps} /> : <p class="muted">Loading…</p>}</Panel>
          <Panel title={`Build log (${lines.length} line${lines.length === 1 ? "" : "s"})${live ? " — live" : ""}`}>
            <div class="log" ref={log} data-testid="build-log">
              {lines.map((l) => (
                <div key={l.id} data-line={l.id} data-log-step={l.step}>
                  {l.line}
                </div>
              ))}
              {lines.length === 0 && <div class="muted">{live ? "Waiting for the build's output…" : "No output."}</div>}
            </div>
          </Panel>
        </>
      )}
    </div>
  );
}

/** The admin's build schedules: each rebuilds a repository's ref at the times its cron says. */
function SchedulesPanel() {
  const list = useLoad((signal) => get<{ items: Schedule[] }>("/v1/schedules", signal), [], 15_000);
  const [draft, setDraft] = useState({ repository: "", ref: "main", cron: "", timezone: "" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [activity, setActivity] = useState<Record<string, string>>({});
  const stops = useRef<Array<() => void>>([]);
  useEffect(
    () => () => {
      for (const stop of stops.current) stop();
    },
    [],
  );
  const track = (label: string, operationId: string) => {
    setActivity((a) => ({ ...a, [label]: "accepted…" }));
    stops.current.push(
      follow(operationId, (v) => {
        setActivity((a) => ({ ...a, [label]: progress(v) }));
        if (v.status !== "pending") list.reload();
      }),
    );
  };
  const set = (field: keyof typeof draft) => (e: Event) =>
    setDraft((d) => ({ ...d, [field]: (e.target as HTMLInputElement).value }));
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        repository: draft.repository.trim(),
        ref: draft.ref.trim(),
        cron: draft.cron.trim(),
        ...(draft.timezone.trim() ? { timezone: draft.timezone.trim() } : {}),
      };
      const a = await write<{ operationId: string; scheduleId: string }>("POST", "/v1/schedules", body);
      track(`create ${body.repository} ${body.ref}`, a.operationId);
      setDraft((d) => ({ ...d, repository: "", cron: "" }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (s: Schedule) => {
    if (!confirm(`Delete the schedule of ${s.repository} ${s.ref} (${s.cron})?`)) return;
    try {
      const a = await write<{ operationId: string }>("DELETE", `/v1/schedules/${encodeURIComponent(s.id)}`);
      track(`delete ${s.repository} ${s.ref}`, a.operationId);
    } catch (err) {
      setError(err);
    }
  };
  const items = list.data?.items ?? [];
  return (
    <Panel title="Build schedules">
      <p class="muted">
        Each tick builds the commit of the latest build request seen for the ref; ticks missed while no scheduler ran
        give one catch-up build.
      </p>
      <ErrorBanner error={error ?? list.error} />
      <form class="row" onSubmit={create} aria-label="New schedule">
        <input
          class="mono"
          type="text"
          name="schedule-repository"
          placeholder="repository (team/app)"
          required
          value={draft.repository}
          onInput={set("repository")}
        />
        <input
          class="mono"
          type="text"
          name="schedule-ref"
          placeholder="ref"
          required
          value={draft.ref}
          onInput={set("ref")}
        />
        <input
          class="mono"
          type="text"
          name="schedule-cron"
          placeholder="cron (0 3 * * *)"
          required
          value={draft.cron}
          onInput={set("cron")}
        />
        <input
          type="text"
          name="schedule-timezone"
          placeholder="time zone (UTC)"
          value={draft.timezone}
          onInput={set("timezone")}
        />
        <button class="primary" type="submit" disabled={busy}>
          Add schedule
        </button>
      </form>
      {Object.entries(activity).map(([label, text]) => (
        <p key={label} class="muted" data-activity={label}>
          <strong>{label}</strong>: {text}
        </p>
      ))}
      <Table
        headers={["Repository", "Ref", "Cron", "Time zone", "Created", "Last tick", "Recent builds", ""]}
        empty={list.data && items.length === 0 && "No schedules."}
      >
        {items.map((s) => (
          <tr key={s.id} data-schedule={s.id}>
            <td class="mono">{s.repository}</td>
            <td class="mono">{s.ref}</td>
            <td class="mono">{s.cron}</td>
            <td>{s.timezone}</td>
            <td class="muted">{when(s.createdAt)}</td>
            <td>
              {s.recentTicks.length === 0 ? (
                <span class="muted">never</span>
              ) : (
                <>
                  {when(s.lastTickAt)}
                  <div class="muted">{s.lastOutcome}</div>
                </>
              )}
            </td>
            <td>
              {s.recentTicks.filter((t) => t.imageId).length === 0
                ? "—"
                : s.recentTicks.map(
                    (t) =>
                      t.imageId && (
                        <a key={t.tickAt} class="mono tick" href={`#/images/${t.imageId}`} title={t.outcome}>
                          {when(t.tickAt)}
                        </a>
                      ),
                  )}
            </td>
            <td>
              <button type="button" class="danger" onClick={() => remove(s)}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </Table>
    </Panel>
  );
}

/** A new CI token: it may request image builds and follow them, nothing else; shown here once. */
function CiTokenPanel() {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [made, setMade] = useState<{ name: string; tokenId: string; token: string; state: string } | null>(null);
  const stop = useRef<(() => void) | null>(null);
  useEffect(() => () => stop.current?.(), []);
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const a = await write<{ operationId: string; tokenId: string; token: string }>("POST", "/v1/tokens", {
        kind: "ci",
        name: name.trim(),
      });
      setMade({ name: name.trim(), tokenId: a.tokenId, token: a.token, state: "accepted…" });
      setName("");
      stop.current?.();
      stop.current = follow(a.operationId, (v) =>
        setMade((m) => m && { ...m, state: v.status === "completed" ? "ready to use" : progress(v) }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel title="CI tokens">
      <p class="muted">
        A CI token may request image builds (<span class="mono">POST /v1/images/builds</span>) and follow them, nothing
        else.
      </p>
      <ErrorBanner error={error} />
      <form class="row" onSubmit={create} aria-label="New CI token">
        <input
          type="text"
          name="token-name"
          placeholder="what it is for (e.g. github-actions)"
          required
          maxLength={200}
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <button class="primary" type="submit" disabled={busy || !name.trim()}>
          New CI token
        </button>
      </form>
      {made && (
        <div class="banner info token" role="status">
          <p>
            Token <strong>{made.name}</strong> <span class="mono muted">{short(made.tokenId)}</span>:{" "}
            <span data-testid="ci-token-state">{made.state}</span>. It is shown only now: copy it into your CI system's
            secrets.
          </p>
          <div class="row">
            <code class="grow" data-testid="ci-token">
              {made.token}
            </code>
            <button type="button" onClick={() => navigator.clipboard?.writeText(made.token).catch(() => {})}>
              Copy
            </button>
            <button type="button" onClick={() => setMade(null)}>
              Done
            </button>
          </div>
        </div>
      )}
    </Panel>
  );
}
