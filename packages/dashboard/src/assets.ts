/**
 * The dashboard's page and script. The script is bundled once at start by Bun's own bundler (no
 * build step, no node_modules in the browser): Preact and the app, minified, one file.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const WEB = join(import.meta.dir, "..", "web");

export interface Asset {
  body: string;
  type: string;
  etag: string;
}

const asset = (body: string, type: string): Asset => ({
  body,
  type,
  etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
});

export async function buildAssets(): Promise<Record<string, Asset>> {
  const built = await Bun.build({ entrypoints: [join(WEB, "main.tsx")], minify: true, target: "browser" });
  if (!built.success) throw new AggregateError(built.logs, "the dashboard's script does not build");
  const script = await (built.outputs[0] as Blob).text();
  return {
    "/": asset(readFileSync(join(WEB, "index.html"), "utf8"), "text/html; charset=utf-8"),
    "/app.js": asset(script, "text/javascript; charset=utf-8"),
    "/app.css": asset(readFileSync(join(WEB, "app.css"), "utf8"), "text/css; charset=utf-8"),
  };
}

/** The page may load and call only its own origin. */
export const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export function serveAsset(a: Asset, request: Request): Response {
  const headers = { ...SECURITY_HEADERS, "content-type": a.type, etag: a.etag, "cache-control": "no-cache" };
  if (request.headers.get("if-none-match") === a.etag) return new Response(null, { status: 304, headers });
  return new Response(a.body, { headers });
}
