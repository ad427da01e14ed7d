/** The operators' screens (admin token): hosts and their disks, the two DLQs with replay, the cleanup record. */
import { useState } from "preact/hooks";
import { type Api, get, type Host, ops, type SearchDlqPage, type WritesDlqPage, write } from "./api.ts";
import { Badge, bytes, type Cursors, ErrorBanner, Pager, Panel, short, Table, useLoad, when } from "./ui.tsx";

function DiskBar({ host }: { host: Host }) {
  const pct = host.disk.usedPercent ?? 0;
  const cls = pct >= 90 ? "full" : pct >= 70 ? "high" : "";
  return (
    <div
      title={`${bytes(host.disk.usedBytes)} used + ${bytes(host.disk.reservedBytes)} reserved of ${bytes(host.disk.totalBytes)}`}
    >
      <div class="bar" data-percent={pct}>
        <span class={cls} style={{ width: `${Math.min(Math.max(pct, 0.5), 100)}%` }} />
      </div>
      <span class="muted">
        {pct}% · {bytes(host.disk.usedBytes + host.disk.reservedBytes)} of {bytes(host.disk.totalBytes)}
        {host.disk.limited ? " (limit)" : ""}
      </span>
    </div>
  );
}

export function HostsPage() {
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const hosts = useLoad((signal) => get<Host[]>("/v1/hosts", signal), [], 3000);
  const act = async (h: Host, action: "drain" | "activate") => {
    try {
      await write("POST", `/v1/hosts/${h.id}/${action}`);
      setNotice(`${h.name}: ${action} requested`);
      hosts.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <h1>Hosts</h1>
      <ErrorBanner error={error ?? hosts.error} />
      {notice && <div class="banner info">{notice}</div>}
      <Panel
        actions={
          <button
            type="button"
            onClick={async () => {
              try {
                await ops("POST", "/ops/provisioner/hosts/refresh");
                hosts.reload();
              } catch (e) {
                setError(e);
              }
            }}
          >
            Read disks now
          </button>
        }
      >
        <Table headers={["Host", "State", "Disk", "Workspaces", "Last seen", ""]}>
          {(hosts.data ?? []).map((h) => (
            <tr key={h.id} data-host={h.name}>
              <td>
                <strong>{h.name}</strong>
                <div class="mono muted">{h.sshAddress}</div>
                {h.lastError && <div class="error-text">{h.lastError}</div>}
              </td>
              <td>
                <Badge value={h.state} />
              </td>
              <td>
                <DiskBar host={h} />
              </td>
              <td>{h.workspaces}</td>
              <td class="muted">{when(h.lastSeenAt)}</td>
              <td>
                {h.state === "draining" ? (
                  <button type="button" onClick={() => act(h, "activate")}>
                    Activate
                  </button>
                ) : (
                  <button type="button" onClick={() => act(h, "drain")}>
                    Drain
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

export function DlqPage() {
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const writes = useLoad(() => ops<WritesDlqPage>("GET", "/ops/processor/dlq"), [], 5000);
  const search = useLoad(() => ops<SearchDlqPage>("GET", "/ops/es-sync/dlq"), [], 5000);
  const replay = async (which: "processor" | "es-sync") => {
    try {
      const r = await ops<Record<string, unknown>>("POST", `/ops/${which}/dlq/replay`);
      const counts = Object.entries(r)
        .filter(([, v]) => typeof v === "number")
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      setResult(`${which === "processor" ? "Writes" : "Search"} DLQ replayed: ${counts}`);
      writes.reload();
      search.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div>
      <h1>Dead-letter queues</h1>
      <ErrorBanner error={error} />
      {result && (
        <div class="banner info" data-testid="replay-result">
          {result}
        </div>
      )}
      <Panel
        title={`Writes DLQ (${writes.data?.total ?? "…"})`}
        actions={
          <button type="button" disabled={!writes.data?.total} onClick={() => replay("processor")}>
            Replay
          </button>
        }
      >
        <ErrorBanner error={writes.error} />
        <p class="muted">Write requests the processor gave up on after its retries, or could not read.</p>
        <Table
          headers={["Seq", "Entity", "Reason", "Operation", "Detail", "Stored"]}
          empty={writes.data?.total === 0 && "Empty: every write request was applied."}
        >
          {(writes.data?.items ?? []).map((m) => (
            <tr key={m.seq}>
              <td>{m.seq}</td>
              <td>{m.entity}</td>
              <td>
                <Badge value={m.reason} />
              </td>
              <td class="mono">{m.operationId ?? "—"}</td>
              <td>{m.detail}</td>
              <td class="muted">{when(m.storedAt)}</td>
            </tr>
          ))}
        </Table>
      </Panel>
      <Panel
        title={`Search sync DLQ (${search.data?.total ?? "…"})`}
        actions={
          <button type="button" disabled={!search.data?.total} onClick={() => replay("es-sync")}>
            Replay
          </button>
        }
      >
        <ErrorBanner error={search.error} />
        <p class="muted">
          Jobs es-sync could not index after every retry; a replay indexes them again from PostgreSQL.
        </p>
        <Table
          headers={["Job", "Version", "Attempts", "Error", "First failed"]}
          empty={search.data?.total === 0 && "Empty: every job change reached the index."}
        >
          {(search.data?.items ?? []).map((m) => (
            <tr key={`${m.jobId}-${m.version}`}>
              <td class="mono">
                <a href={`#/jobs/${m.jobId}`}>{short(m.jobId)}</a>
              </td>
              <td>{m.version ?? "—"}</td>
              <td>{m.attempts}</td>
              <td>{m.error}</td>
              <td class="muted">{when(m.firstFailedAt)}</td>
            </tr>
          ))}
        </Table>
      </Panel>
    </div>
  );
}

export function CleanupScreen() {
  const [cursors, setCursors] = useState<Cursors>([null]);
  const [error, setError] = useState<unknown>(null);
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    (signal) => get<Api["CleanupPage"]>(`/v1/cleanup/actions?limit=50${cursor ? `&cursor=${cursor}` : ""}`, signal),
    [cursor],
  );
  return (
    <div>
      <h1>Cleanup audit</h1>
      <ErrorBanner error={error ?? page.error} />
      <Panel
        actions={
          <button
            type="button"
            onClick={async () => {
              try {
                await ops("POST", "/ops/provisioner/cleanup");
                setCursors([null]);
                page.reload();
              } catch (e) {
                setError(e);
              }
            }}
          >
            Run cleanup now
          </button>
        }
      >
        <p class="muted">What the cleanup daemon removed from the hosts (or, in dry-run mode, would have), and why.</p>
        <Table
          headers={["When", "Host", "Container", "Workspace", "Action", "Reason"]}
          empty={page.data?.items.length === 0 && "Nothing removed yet."}
        >
          {(page.data?.items ?? []).map((a) => (
            <tr key={a.id}>
              <td class="muted">{when(a.createdAt)}</td>
              <td>{a.hostName ?? "—"}</td>
              <td class="mono">
                {a.containerId ? a.containerId.slice(0, 12) : `image ${(a.imageId ?? "").slice(0, 8)}`}
              </td>
              <td class="mono">{short(a.workspaceId)}</td>
              <td>
                <Badge value={a.action} />
              </td>
              <td>
                {a.reason}
                {a.detail ? <span class="muted"> — {a.detail}</span> : null}
              </td>
            </tr>
          ))}
        </Table>
        <Pager cursors={cursors} setCursors={setCursors} next={page.data?.cursor} showPage={false} />
      </Panel>
    </div>
  );
}
