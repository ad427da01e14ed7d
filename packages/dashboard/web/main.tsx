/** The A4C dashboard: sign in with a token, then jobs, workspaces, images and (for admins) the operators' screens. */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { CleanupScreen, DlqPage, HostsPage } from "./admin.tsx";
import { ApiError, get, getToken, type Me, setToken } from "./api.ts";
import { ImageDetail, ImagesPage } from "./images.tsx";
import { JobDetail, JobsPage } from "./jobs.tsx";
import { navigate, useRoute } from "./router.ts";
import { ErrorBanner } from "./ui.tsx";
import { WorkspacesPage } from "./workspaces.tsx";

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [token, setDraft] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setToken(token.trim());
    try {
      onSignedIn(await get<Me>("/v1/me"));
    } catch (err) {
      setToken(null);
      setError(
        err instanceof ApiError && err.status === 401
          ? new Error("This token is not known: check it and try again.")
          : err,
      );
    }
  };
  return (
    <form class="panel signin" onSubmit={submit}>
      <h1>Sign in to A4C</h1>
      <p class="muted">Use your user token, or the admin token (.local/admin-token on the control plane).</p>
      <ErrorBanner error={error} />
      <input
        type="password"
        name="token"
        aria-label="Token"
        placeholder="token"
        autocomplete="off"
        value={token}
        onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
      />
      <button class="primary" type="submit" disabled={!token.trim()}>
        Sign in
      </button>
    </form>
  );
}

const USER_TABS = [
  ["jobs", "Jobs"],
  ["workspaces", "Workspaces"],
  ["images", "Images"],
] as const;
const ADMIN_TABS = [
  ["hosts", "Hosts"],
  ["dlq", "DLQs"],
  ["cleanup", "Cleanup"],
] as const;

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(getToken() !== null);
  const route = useRoute();
  useEffect(() => {
    if (!getToken()) return;
    get<Me>("/v1/me")
      .then(setMe, () => setToken(null))
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="loading">Loading A4C…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  const [page = "jobs", id] = route.parts;
  const tabs = me.kind === "admin" ? [...USER_TABS, ...ADMIN_TABS] : USER_TABS;
  const signOut = () => {
    setToken(null);
    setMe(null);
    navigate("jobs");
  };
  return (
    <>
      <header class="top">
        <span class="brand">A4C</span>
        <nav>
          {tabs.map(([path, label]) => (
            <a key={path} href={`#/${path}`} class={page === path ? "active" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {me.kind === "admin" ? "admin" : `${me.user.name} <${me.user.email}>`}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {page === "jobs" && id && <JobDetail id={id} />}
        {/* Keyed by the query: a new search starts on its first page, with no cursor of the last. */}
        {page === "jobs" && !id && <JobsPage key={route.query.toString()} query={route.query} />}
        {page === "workspaces" && <WorkspacesPage me={me} />}
        {page === "images" && id && <ImageDetail id={id} />}
        {page === "images" && !id && <ImagesPage key={route.query.toString()} me={me} query={route.query} />}
        {me.kind === "admin" && page === "hosts" && <HostsPage />}
        {me.kind === "admin" && page === "dlq" && <DlqPage />}
        {me.kind === "admin" && page === "cleanup" && <CleanupScreen />}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
