/**
 * Workspaces of the signed-in user (an admin names the user): the list, a create form and delete.
 * A create or delete follows its operation and then its job over SSE, step by step; the list is
 * read again whenever a job changes (pushed by the server).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { FINAL_JOB, follow, get, listen, type Me, type OperationView, type Workspace, write } from "./api.ts";
import { Badge, ErrorBanner, Panel, short, Table, useLoad, when } from "./ui.tsx";

interface Accepted {
  operationId: string;
  workspaceId?: string;
  jobId?: string;
}

/** What a followed operation shows while it runs. */
function progress(v: OperationView): string {
  if (v.status === "pending") return "accepted, waiting to be applied…";
  if (v.status === "failed") return `failed: ${v.error?.code}: ${v.error?.message}`;
  if (!v.job) return "done";
  const step = v.job.step ? ` (${v.job.step})` : "";
  return FINAL_JOB.has(v.job.status)
    ? `job ${v.job.status.toLowerCase()}`
    : `job ${v.job.status.toLowerCase()}${step}…`;
}

export function WorkspacesPage({ me }: { me: Me }) {
  const [userId, setUserId] = useState(me.kind === "user" ? me.user.id : "");
  const [project, setProject] = useState("");
  const [image, setImage] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [activity, setActivity] = useState<Record<string, string>>({});
  const [stops] = useState<Array<() => void>>([]);
  useEffect(
    () => () => {
      for (const stop of stops) stop();
    },
    [stops],
  );
  const list = useLoad(
    (signal) =>
      userId
        ? get<{ items: Workspace[]; cursor: string | null }>(
            `/v1/users/${encodeURIComponent(userId)}/workspaces?limit=100`,
            signal,
          )
        : Promise.resolve({ items: [], cursor: null }),
    [userId],
  );
  // A workspace changes with its jobs: each pushed job change (GET /v1/jobs/events) reads the list
  // again, at most every half second; a stream opened again after a break does too.
  const reload = useRef(list.reload);
  reload.current = list.reload;
  useEffect(() => {
    let pending: ReturnType<typeof setTimeout> | null = null;
    let opened = 0;
    const stop = listen(
      "/v1/jobs/events",
      (name) => {
        if ((name === "ready" && opened++ === 0) || pending) return;
        pending = setTimeout(() => {
          pending = null;
          reload.current();
        }, 500);
      },
      { reconnect: true },
    );
    return () => {
      stop();
      if (pending) clearTimeout(pending);
    };
  }, []);

  const track = (label: string, accepted: Accepted) => {
    setActivity((a) => ({ ...a, [label]: "accepted…" }));
    stops.push(
      follow(accepted.operationId, (v) => {
        setActivity((a) => ({ ...a, [label]: progress(v) }));
        list.reload();
      }),
    );
  };

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { projectName: project.trim(), ...(image.trim() ? { image: image.trim() } : {}) };
      const accepted = await write<Accepted>("POST", `/v1/users/${encodeURIComponent(userId)}/workspaces`, body);
      track(`create ${body.projectName}`, accepted);
      setProject("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (w: Workspace) => {
    if (!confirm(`Delete workspace ${w.projectName}? Its container is removed.`)) return;
    try {
      track(
        `delete ${w.projectName}`,
        await write<Accepted>(
          "DELETE",
          `/v1/users/${encodeURIComponent(w.userId)}/workspaces/${encodeURIComponent(w.id)}`,
        ),
      );
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div>
      <h1>Workspaces</h1>
      {me.kind === "admin" && (
        <Panel>
          <label class="row">
            <span>User id</span>
            <input
              class="grow mono"
              type="text"
              placeholder="the user whose workspaces to manage"
              value={userId}
              onChange={(e) => setUserId((e.target as HTMLInputElement).value.trim())}
            />
          </label>
        </Panel>
      )}
      <ErrorBanner error={error ?? list.error} />
      {userId && (
        <Panel title="New workspace">
          <form class="row" onSubmit={create}>
            <input
              type="text"
              name="projectName"
              placeholder="project name (e.g. backend-api)"
              required
              pattern="[a-z0-9]([a-z0-9-]*[a-z0-9])?"
              value={project}
              onInput={(e) => setProject((e.target as HTMLInputElement).value)}
            />
            <input
              type="text"
              name="image"
              placeholder="image (default: the base image)"
              value={image}
              onInput={(e) => setImage((e.target as HTMLInputElement).value)}
            />
            <button class="primary" type="submit" disabled={busy}>
              Create
            </button>
          </form>
          {Object.entries(activity).map(([label, text]) => (
            <p key={label} class="muted" data-activity={label}>
              <strong>{label}</strong>: {text}
            </p>
          ))}
        </Panel>
      )}
      <Panel title="Your workspaces">
        <Table
          headers={["Project", "Status", "Host", "Address", "Hostname", "Image", "Created", ""]}
          empty={list.data && list.data.items.length === 0 && "No workspaces yet."}
        >
          {(list.data?.items ?? []).map((w) => (
            <tr key={w.id} data-workspace={w.projectName}>
              <td>
                {w.projectName} <span class="mono muted">{short(w.id)}</span>
              </td>
              <td data-testid="ws-status">
                <Badge value={w.status} />
              </td>
              <td>{w.hostName ?? "—"}</td>
              <td class="mono">{w.address ?? "—"}</td>
              <td class="mono">{w.hostname ?? "—"}</td>
              <td class="mono">{w.image}</td>
              <td class="muted">{when(w.createdAt)}</td>
              <td>
                {(w.status === "RUNNING" || w.status === "FAILED") && (
                  <button type="button" class="danger" onClick={() => remove(w)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      </Panel>
    </div>
  );
}
