/**
 * Where the CLI finds the front door and its token: `A4C_URL` / `A4C_TOKEN` when set, else the
 * file `a4c login` wrote (`$XDG_CONFIG_HOME/a4c/config.json` on Linux, the platform's config
 * directory elsewhere), readable by its owner only, since it holds a secret.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import envPaths from "env-paths";
import { CliError, EXIT, UsageError } from "./errors.ts";

export const DEFAULT_URL = "http://127.0.0.1:3004";

export interface StoredConfig {
  url?: string;
  token?: string;
}

export interface Settings {
  url: string;
  token: string | null;
  /** Where the token came from, for messages. */
  tokenSource: "A4C_TOKEN" | "config" | "none";
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.A4C_CONFIG) return env.A4C_CONFIG;
  return join(envPaths("a4c", { suffix: "" }).config, "config.json");
}

export function readConfig(path = configPath()): StoredConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== "object") throw new Error("not an object");
    const { url, token } = parsed as Record<string, unknown>;
    return { url: typeof url === "string" ? url : undefined, token: typeof token === "string" ? token : undefined };
  } catch (err) {
    throw new CliError(`Unreadable config file ${path}`, EXIT.usage, "run `a4c login` again to rewrite it", {
      cause: err,
    });
  }
}

/** Writes the file with mode 0600 (directory 0700), replacing any older one in one step. */
export function writeConfig(config: StoredConfig, path = configPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600); // an existing temp file keeps its mode: set it whatever the umask did
  renameSync(temp, path);
}

export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`Not a URL: ${raw}`, "give the front door's address, e.g. http://127.0.0.1:3004");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`Not an http(s) URL: ${raw}`);
  }
  return url.toString().replace(/\/+$/, "");
}

/**
 * A token as a bearer token can carry it: 1 to 512 printable characters, no spaces. Surrounding
 * whitespace (a pasted line's newline) is dropped; anything else is a usage error, said as such
 * instead of failing later as an unsendable header.
 */
export function checkToken(raw: string, from: string): string {
  const token = raw.trim();
  if (!/^[\x21-\x7e]{1,512}$/.test(token)) {
    throw new UsageError(`Not a token (${from})`, "a token is 1 to 512 printable characters without spaces");
  }
  return token;
}

export function resolveSettings(env: NodeJS.ProcessEnv = process.env, stored: StoredConfig = readConfig()): Settings {
  const url = normalizeUrl(env.A4C_URL || stored.url || DEFAULT_URL);
  if (env.A4C_TOKEN) return { url, token: checkToken(env.A4C_TOKEN, "A4C_TOKEN"), tokenSource: "A4C_TOKEN" };
  if (stored.token) return { url, token: checkToken(stored.token, "the stored login"), tokenSource: "config" };
  return { url, token: null, tokenSource: "none" };
}
