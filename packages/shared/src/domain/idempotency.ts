import type { Envelope } from "./commands.ts";

/**
 * What a request means when its key's subject already holds a message:
 * - `own`: the stored message is this very request (an earlier publish attempt of ours landed);
 * - `replay`: the same request sent again — answer with the stored operation;
 * - `mismatch`: the key was used for a different request — 422.
 */
export type KeyConflict = { kind: "own" } | { kind: "replay"; stored: Envelope } | { kind: "mismatch" };

export function resolveKeyConflict(
  stored: Envelope,
  attempt: { operationId: string; fingerprint: string; actor: string },
): KeyConflict {
  if (stored.operationId === attempt.operationId) return { kind: "own" };
  if (stored.actor === attempt.actor && stored.fingerprint === attempt.fingerprint) {
    return { kind: "replay", stored };
  }
  return { kind: "mismatch" };
}
