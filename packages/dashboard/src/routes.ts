/**
 * Which service answers a request to the front door. One origin serves the dashboard and the
 * whole API, so neither the browser nor the CLI needs to know (or be allowed by CORS to reach)
 * five ports:
 *  - `/v1/…` and `/status/…`: reads (GET, HEAD) go to the read-api, writes to the gateway;
 *  - `/ops/<service>/<action>`: the operators' endpoints of the processor, es-sync and the
 *    provisioner, only those listed here (each still checks the admin token itself);
 *  - `/openapi/<gateway|read-api>.json`: the two API documents.
 * Anything else is the dashboard's own (its page, script and ops routes).
 */
export type Upstream = "gateway" | "readApi" | "processor" | "esSync" | "provisioner";

export interface Target {
  upstream: Upstream;
  path: string;
}

const READS = new Set(["GET", "HEAD"]);

/** The operators' actions the front door passes on: service → method → paths. */
const OPS: Record<string, { upstream: Upstream; routes: Record<string, string[]> }> = {
  processor: { upstream: "processor", routes: { GET: ["/dlq"], POST: ["/dlq/replay"] } },
  "es-sync": {
    upstream: "esSync",
    routes: { GET: ["/dlq", "/reindex"], POST: ["/dlq/replay", "/reindex", "/reconcile"] },
  },
  provisioner: { upstream: "provisioner", routes: { POST: ["/cleanup", "/hosts/refresh"] } },
};

export function route(method: string, pathname: string): Target | null {
  if (pathname.startsWith("/v1/") || pathname.startsWith("/status/")) {
    return { upstream: READS.has(method) ? "readApi" : "gateway", path: pathname };
  }
  const doc = /^\/openapi\/(gateway|read-api)\.json$/.exec(pathname);
  if (doc && READS.has(method))
    return { upstream: doc[1] === "gateway" ? "gateway" : "readApi", path: "/openapi.json" };
  const ops = /^\/ops\/([a-z-]+)(\/[a-z/]+)$/.exec(pathname);
  if (ops) {
    const service = OPS[ops[1] as string];
    const path = ops[2] as string;
    if (service?.routes[method]?.includes(path)) return { upstream: service.upstream, path };
  }
  return null;
}
