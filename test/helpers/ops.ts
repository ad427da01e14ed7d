/**
 * Calls to the services' ops and operator endpoints, with the credentials they need: the admin
 * token the service was started with (or its metrics token, for /metrics).
 */
export interface OpsTarget {
  url: string;
  env: Record<string, string>;
}

export function operatorHeaders(svc: OpsTarget): Record<string, string> {
  return { authorization: `Bearer ${svc.env.A4C_ADMIN_TOKEN}` };
}

/** GET or POST an operator endpoint as the admin; the parsed JSON answer. */
export async function operator(
  svc: OpsTarget,
  path: string,
  method: "GET" | "POST" = "GET",
  timeoutMs = 120_000,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${svc.url}${path}`, {
    method,
    headers: operatorHeaders(svc),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

export async function metricsText(svc: OpsTarget): Promise<string> {
  const token = svc.env.A4C_METRICS_TOKEN ?? svc.env.A4C_ADMIN_TOKEN;
  const r = await fetch(`${svc.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
  return r.text();
}

/** The value of a Prometheus counter (summed over labels matching `labels`) from /metrics. */
export async function metricValue(svc: OpsTarget, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await metricsText(svc);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.split(" ").at(-1));
  }
  return sum;
}
