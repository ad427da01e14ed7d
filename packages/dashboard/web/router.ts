/** Hash routes (`#/jobs?q=…`, `#/jobs/<id>`, …): links can be shared and the server serves one page. */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = raw.split("?", 2);
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function navigate(path: string, params: Record<string, string> = {}): void {
  const p = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ""));
  const search = p.toString();
  location.hash = `#/${path}${search ? `?${search}` : ""}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const on = () => setRoute(currentRoute());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
