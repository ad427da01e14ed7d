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
