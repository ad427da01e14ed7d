/**
 * `/docs`: one self-contained page that fetches `openapi.json` from the same service and renders
 * it (operations by tag, parameters, bodies, every answer with its schema). Nothing is loaded from
 * anywhere else, so it works offline; the Content-Security-Policy allows only this page's own
 * script and style (by hash) and requests to its own origin.
 */
import { createHash } from "node:crypto";

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem 1.5rem;color:#1d1d1f}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
summary{cursor:pointer}code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;border-radius:4px}
.m{display:inline-block;min-width:4.5rem;font-weight:700}.get{color:#0a6}.post{color:#06c}.delete{color:#c22}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
`;

const SCRIPT = `
const main = document.getElementById("api");
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; };
fetch("openapi.json").then((r) => r.json()).then(render).catch((e) => main.append(el("p", "Could not load openapi.json: " + e)));
function render(doc) {
  document.title = doc.info.title;
  main.append(el("h1", doc.info.title), el("p", "API version " + doc.info.version + ". " + (doc.info.description || "")));
  const link = el("a", "openapi.json"); link.href = "openapi.json"; main.append(link);
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([method, path, op]);
    }
  for (const [tag, ops] of byTag) { main.append(el("h2", tag)); for (const o of ops) main.append(operation(doc, ...o)); }
}
function operation(doc, method, path, op) {
  const d = el("details"), s = el("summary");
  s.append(el("span", method.toUpperCase(), "m " + method), el("code", path), document.createTextNode("  " + (op.summary || "")));
  d.append(s);
  if (op.description) d.append(el("p", op.description));
  d.append(el("p", op.security && op.security.length === 0 ? "No token needed." : "Needs Authorization: Bearer <token>."));
  if (op.parameters && op.parameters.length) {
    const t = el("table"); t.append(row(["parameter", "in", "schema", ""], "th"));
    for (const p of op.parameters) t.append(row([p.name + (p.required ? "" : "?"), p.in, shape(doc, p.schema, ""), p.description || ""], "td"));
    d.append(t);
  }
  if (op.requestBody) for (const [type, m] of Object.entries(op.requestBody.content)) d.append(el("h4", "Body (" + type + ")"), el("pre", shape(doc, m.schema, "")));
  for (const [status, a] of Object.entries(op.responses || {})) {
    d.append(el("h4", status + " " + (a.description || "")));
    for (const h of Object.keys(a.headers || {})) d.append(el("div", "header " + h + ": " + (a.headers[h].description || "")));
    for (const [type, m] of Object.entries(a.content || {})) d.append(el("pre", type + "\\n" + shape(doc, m.schema, "")));
  }
  return d;
}
function row(cells, tag) { const r = el("tr"); for (const c of cells) r.append(el(tag, c)); return r; }
function shape(doc, s, pad) {
  if (!s) return "any";
  if (s.$ref) return shape(doc, doc.components.schemas[s.$ref.split("/").pop()], pad);
  const alts = s.anyOf || s.oneOf;
  if (alts) return alts.map((a) => shape(doc, a, pad)).join(" | ");
  if ("const" in s) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.type === "array") return shape(doc, s.items, pad) + "[]";
  if (s.type === "object" && s.properties) {
    const inner = pad + "  ", req = s.required || [];
    const lines = Object.entries(s.properties).map(([k, v]) =>
      inner + k + (req.includes(k) ? "" : "?") + ": " + shape(doc, v, inner) + (v.description ? "  // " + v.description : ""));
    return "{\\n" + lines.join("\\n") + "\\n" + pad + "}";
  }
  if (s.type === "object") return "{ [key: string]: " + shape(doc, s.patternProperties ? Object.values(s.patternProperties)[0] : s.additionalProperties, pad) + " }";
  const rule = [s.format, s.pattern && "/" + s.pattern + "/", s.minimum !== undefined && ">= " + s.minimum, s.maximum !== undefined && "<= " + s.maximum,
    s.minLength !== undefined && "length >= " + s.minLength, s.maxLength !== undefined && "length <= " + s.maxLength].filter(Boolean);
  return (Array.isArray(s.type) ? s.type.join(" | ") : s.type || "any") + (rule.length ? " (" + rule.join(", ") + ")" : "");
}
`;

const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference</title>
<style>${STYLE}</style>
</head>
<body>
<main id="api"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;

const HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "cache-control": "no-cache",
};

export function docsPage(): Response {
  return new Response(HTML, { headers: HEADERS });
}
