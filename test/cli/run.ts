/** The `a4c` CLI run as a real process, as a user would: its exit code, stdout and stderr. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../infra/lib/paths.ts";

export const A4C = join(ROOT, "packages", "cli", "bin", "a4c");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  url?: string;
  /** The token in A4C_TOKEN; null for none (the stored login is used). */
  token?: string | null;
  home?: string;
  env?: Record<string, string>;
  stdin?: string;
}

/** A fresh HOME / XDG_CONFIG_HOME, so no run sees another's login. */
export function freshHome(): string {
  return mkdtempSync(join(tmpdir(), "a4c-cli-"));
}

export function environment(o: RunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("A4C_")) env[k] = v;
  const home = o.home ?? freshHome();
  Object.assign(env, { HOME: home, XDG_CONFIG_HOME: home, NO_COLOR: "1" });
  if (o.url) env.A4C_URL = o.url;
  if (o.token) env.A4C_TOKEN = o.token;
  // An empty value in `o.env` takes the variable away (e.g. NO_COLOR, to see what a pipe alone does).
  const merged: Record<string, string> = { ...env, ...o.env };
  for (const [k, v] of Object.entries(merged)) if (v === "") delete merged[k];
  return merged;
}

export function spawn(args: string[], o: RunOptions = {}) {
  return Bun.spawn([A4C, ...args], {
    cwd: ROOT,
    env: environment(o),
    stdin: o.stdin === undefined ? "ignore" : new TextEncoder().encode(o.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
}

export async function a4c(args: string[], o: RunOptions = {}): Promise<Run> {
  const started = performance.now();
  const child = spawn(args, o);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr, ms: performance.now() - started };
}

/** No stack trace in what a user sees. */
export function noStack(text: string): boolean {
  return !/\n\s+at .+[:(]\d+/.test(text) && !text.includes("node_modules/");
}
