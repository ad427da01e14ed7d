/**
 * What `a4c images build` sends: the Dockerfile's text and the files under `--context` as
 * `{path: text}`, read and checked before anything is sent, by the gateway's own rules, so a
 * context it would refuse fails here at once (exit 2) naming the file at fault:
 *  - at most MAX_CONTEXT_FILES files and MAX_CONTEXT_BYTES bytes (the Dockerfile, each path and
 *    each file, as the gateway counts them): reading stops at the first file over either bound,
 *    so a wrong --context (a home folder) costs nothing;
 *  - paths relative, of letters, digits, `. _ / -` only; files UTF-8 text (the API carries text);
 *  - `.git` (a folder or a worktree's file) is never sent, nor symbolic links (which may point out
 *    of the context), nor anything that is not a regular file; the context's own root `Dockerfile`
 *    is not a file of the context (the API takes it as `dockerfile`).
 */
import { type Dirent, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { UsageError } from "./errors.ts";
import { bytes } from "./render.ts";

/** The gateway's bounds (its A4C_MAX_BUILD_BYTES default; the request schema's file count and sizes). */
export const MAX_CONTEXT_FILES = 100;
export const MAX_CONTEXT_BYTES = 524_288;
export const MAX_DOCKERFILE_CHARS = 65_536;
const PATH_PATTERN = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[A-Za-z0-9._/-]{1,200}$/;

export interface Limits {
  files: number;
  bytes: number;
}

export interface Skipped {
  path: string;
  why: string;
}

export interface BuildContext {
  dockerfile: string;
  files: Record<string, string>;
  /** As the gateway counts a context: the Dockerfile, and each file's path and text, in bytes. */
  bytes: number;
  skipped: Skipped[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A file's text, or a usage error saying why it cannot be sent. */
function readText(path: string, shown: string): string {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new UsageError(`Cannot read ${shown}`, (err as Error).message);
  }
  try {
    return utf8.decode(raw);
  } catch {
    throw new UsageError(`${shown} is not UTF-8 text`, "a build context carries text files only");
  }
}

export function readDockerfile(path: string): string {
  const text = readText(path, `the Dockerfile ${path}`);
  if (text.trim() === "") throw new UsageError(`The Dockerfile ${path} is empty`);
  if (text.length > MAX_DOCKERFILE_CHARS) {
    throw new UsageError(
      `The Dockerfile ${path} is too long`,
      `${text.length} characters; at most ${MAX_DOCKERFILE_CHARS}`,
    );
  }
  return text;
}

/**
 * Reads the Dockerfile and, with `contextDir`, every file under it (sorted, so the same folder
 * always gives the same request). Without `contextDir` only the Dockerfile is sent.
 */
export function readBuildContext(
  dockerfilePath: string,
  contextDir?: string,
  limits: Limits = { files: MAX_CONTEXT_FILES, bytes: MAX_CONTEXT_BYTES },
): BuildContext {
  const dockerfile = readDockerfile(dockerfilePath);
  const files: Record<string, string> = {};
  const skipped: Skipped[] = [];
  let total = Buffer.byteLength(dockerfile);
  const over = (path: string, size: number) =>
    new UsageError(
      "The build context is too large",
      `${bytes(total + size)} with ${path}; at most ${bytes(limits.bytes)} (Dockerfile, paths and files)`,
    );
  if (total > limits.bytes) throw over("the Dockerfile", 0);
  if (contextDir === undefined) return { dockerfile, files, bytes: total, skipped };

  const root = resolve(contextDir);
  let rootStat: ReturnType<typeof statSync>;
  try {
    rootStat = statSync(root);
  } catch (err) {
    throw new UsageError(`Cannot read the context ${contextDir}`, (err as Error).message);
  }
  if (!rootStat.isDirectory()) throw new UsageError(`The context ${contextDir} is not a folder`);

  let count = 0;
  const walk = (dir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new UsageError(`Cannot read ${relative(root, dir) || contextDir}`, (err as Error).message);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const path = relative(root, full).split("\\").join("/");
      if (entry.name === ".git") {
        skipped.push({ path, why: "git's own data" });
        continue;
      }
      if (entry.isSymbolicLink()) {
        skipped.push({ path, why: "a symbolic link" });
        continue;
      }
      if (entry.isDirectory()) {
        walk(full);
        continue;
      }
      if (!entry.isFile()) {
        skipped.push({ path, why: "not a regular file" });
        continue;
      }
      if (path === "Dockerfile") {
        skipped.push({ path, why: "the context's own Dockerfile; --dockerfile is the one sent" });
        continue;
      }
      if (!PATH_PATTERN.test(path)) {
        throw new UsageError(
          `Cannot send ${path}`,
          "a context path may hold only letters, digits, . _ / - (at most 200 characters)",
        );
      }
      if (++count > limits.files) {
        throw new UsageError(
          "The build context has too many files",
          `more than ${limits.files} under ${contextDir} (the first one over: ${path})`,
        );
      }
      // Its size before reading it: a huge file costs one stat.
      const cost = Buffer.byteLength(path) + statSync(full).size;
      if (total + cost > limits.bytes) throw over(path, cost);
      const text = readText(full, path);
      files[path] = text;
      total += Buffer.byteLength(path) + Buffer.byteLength(text);
    }
  };
  walk(root);
  return { dockerfile, files, bytes: total, skipped };
}
