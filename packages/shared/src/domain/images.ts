/**
 * Image builds: the rules every service shares — ids, tags, names and the build context.
 *
 * A build request's image and job ids are derived from `repository + commitSha`, so every request
 * for one commit (any Idempotency-Key, any number racing, from the API or from Kafka) is answered
 * with the same ids at once, and the processor's insert of that one image makes one build.
 */
import { sha256Hex } from "./canonical.ts";

/** Docker repository path components, lowercase: `team/app`, `backend-api`. */
export const REPOSITORY_PATTERN = "^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*){0,3}$";
/** A git commit: SHA-1 (40) or SHA-256 (64) hex, lowercase. */
export const COMMIT_SHA_PATTERN = "^([0-9a-f]{40}|[0-9a-f]{64})$";
/** A branch or tag name as git allows it, bounded. */
export const REF_PATTERN = "^[A-Za-z0-9._/-]{1,200}$";
/** A path inside the build context: relative, no `..`, no leading slash. */
export const CONTEXT_PATH_PATTERN = "^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]{1,200}$";
export const MAX_CONTEXT_FILES = 100;

/** A UUID (version 8: custom) from a hash, stable for the same input. */
export function uuidFromHash(input: string): string {
  const h = sha256Hex(input);
  const variant = ((Number.parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The ids of the one build of a commit requested by CI or an admin. */
export function requestedBuildIds(repository: string, commitSha: string): { imageId: string; jobId: string } {
  return {
    imageId: uuidFromHash(`a4c image\n${repository}\n${commitSha}`),
    jobId: uuidFromHash(`a4c image build\n${repository}\n${commitSha}`),
  };
}

/**
 * `a4c/<repository>:<sha>`. A schedule's build adds its tick (UTC, to the second) and the
 * schedule (the last 8 hex digits of its id): two schedules of one ref firing in the same second
 * make two images, each with its own tag.
 */
export function imageTag(repository: string, commitSha: string, tick?: { at: Date; scheduleId: string }): string {
  if (!tick) return `a4c/${repository}:${commitSha}`;
  const at = tick.at.toISOString().replace(/[-:]/g, "").slice(0, 15).replace("T", "");
  // The random end of the id: a UUIDv7 begins with its creation time, shared by ids made together.
  return `a4c/${repository}:${commitSha}-s${at}-${tick.scheduleId.replace(/-/g, "").slice(-8)}`;
}

/** The trigger of a build: 'request' for CI and admins, the schedule and tick for scheduled ones. */
export function scheduleTrigger(scheduleId: string, tick: Date): string {
  return `schedule:${scheduleId}@${tick.toISOString()}`;
}

/** Bytes of a build context: the Dockerfile and the files, as sent. */
export function contextBytes(dockerfile: string, files: Record<string, string>): number {
  let n = Buffer.byteLength(dockerfile);
  for (const [path, text] of Object.entries(files)) n += Buffer.byteLength(path) + Buffer.byteLength(text);
  return n;
}

/** Sources a build would fetch over a network: `http://…`, `git://…`, `git@host:…`. */
const REMOTE_SOURCE = /^([a-z][a-z0-9+.-]*:\/\/|git@)/i;

/** The Dockerfile's instructions as logical lines (continuations joined), with their line numbers. */
function instructions(dockerfile: string): Array<{ line: number; keyword: string; args: string }> {
  const out: Array<{ line: number; keyword: string; args: string }> = [];
  let pending = "";
  let start = 0;
  const lines = dockerfile.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const text = raw.trim();
    if (!pending && (text === "" || text.startsWith("#"))) continue;
    if (!pending) start = i + 1;
    if (text.endsWith("\\")) {
      pending += `${text.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${text}`.trim();
    pending = "";
    const m = /^(\S+)\s*(.*)$/s.exec(full);
    if (m) out.push({ line: start, keyword: (m[1] ?? "").toUpperCase(), args: m[2] ?? "" });
  }
  if (pending.trim()) {
    const m = /^(\S+)\s*(.*)$/s.exec(pending.trim());
    if (m) out.push({ line: start, keyword: (m[1] ?? "").toUpperCase(), args: m[2] ?? "" });
  }
  return out;
}

/** The words of an instruction's arguments: its JSON array form, or split on blanks. */
function words(args: string): string[] {
  if (args.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(args);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // not JSON: the shell form below
    }
  }
  return args.split(/\s+/).filter(Boolean);
}

/**
 * Why a Dockerfile cannot be built here, or null. Builds have no network and pull nothing, so an
 * image must come FROM one the hosts have (`a4c/…`: the base image or an earlier build), an earlier
 * stage or `scratch`; ADD and COPY --from take no remote source; the same for ONBUILD triggers.
 * (The RUN steps' network is cut by Docker itself: `networkmode: none`.) Pure.
 */
export function dockerfileProblem(dockerfile: string): string | null {
  const stages = new Set<string>();
  const allowedImage = (ref: string) =>
    ref.startsWith("a4c/") || ref === "scratch" || stages.has(ref.toLowerCase()) || /^\d+$/.test(ref);
  let sawFrom = false;
  for (const ins of instructions(dockerfile)) {
    const at = `line ${ins.line}`;
    let { keyword, args } = ins;
    if (keyword === "ONBUILD") {
      const inner = /^(\S+)\s*(.*)$/s.exec(args);
      keyword = (inner?.[1] ?? "").toUpperCase();
      args = inner?.[2] ?? "";
    }
    const w = words(args);
    const flags = w.filter((x) => x.startsWith("--"));
    const plain = w.filter((x) => !x.startsWith("--"));
    if (keyword === "FROM") {
      sawFrom = true;
      const image = plain[0] ?? "";
      if (image.includes("$")) return `${at}: FROM must name an image, not a variable`;
      if (!allowedImage(image)) {
        return `${at}: FROM ${image.slice(0, 100)} is not an image the hosts have: builds pull nothing, so FROM a4c/base:latest, an earlier build (a4c/…), an earlier stage or scratch`;
      }
      if (plain[1]?.toUpperCase() === "AS" && plain[2]) stages.add(plain[2].toLowerCase());
    }
    if (keyword === "ADD" && plain.slice(0, -1).some((src) => REMOTE_SOURCE.test(src))) {
      return `${at}: ADD from a URL or a git repository is not allowed: builds have no network (send the file in files)`;
    }
    if (keyword === "ADD" || keyword === "COPY") {
      const from = flags.find((f) => f.toLowerCase().startsWith("--from="))?.slice(7) ?? null;
      if (from !== null && !allowedImage(from)) {
        return `${at}: ${keyword} --from=${from.slice(0, 100)} names no earlier stage nor image the hosts have`;
      }
    }
  }
  if (!sawFrom) return "the Dockerfile has no FROM";
  return null;
}
