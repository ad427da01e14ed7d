/**
 * Pinned SSH host keys: a host is trusted only if it presents the key (or the fingerprint) it was
 * registered with. ssh2's \`hostVerifier\` gets the server's public key blob (SSH wire format: the
 * base64 part of an OpenSSH \`.pub\` line, decoded); returning false aborts the connection before
 * authentication, so nothing is sent to an impostor.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The key blob of an OpenSSH public key line (`type base64 [comment]`). */
export function hostKeyBlob(publicKeyLine: string): Buffer {
  const [type, b64] = publicKeyLine.trim().split(/\s+/);
  if (!type || !b64) throw new Error("host key must be an OpenSSH public key line: '<type> <base64> [comment]'");
  const blob = Buffer.from(b64, "base64");
  // The blob starts with its own type name; a mismatch means a corrupt or mislabelled key.
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLength < 0 || blob.subarray(4, 4 + nameLength).toString() !== type) {
    throw new Error(`host key blob does not match its type ${type}`);
  }
  return blob;
}

/** OpenSSH's SHA256 fingerprint (`SHA256:` + unpadded base64) of a key blob or public key line. */
export function hostKeyFingerprint(key: Buffer | string): string {
  const blob = typeof key === "string" ? hostKeyBlob(key) : key;
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** A predicate over the key ssh2 presents, true only for the pinned key. */
export function pinnedHostVerifier(hostKey: string): (presented: Buffer) => boolean {
  const pin = hostKey.trim();
  if (pin.startsWith("SHA256:")) {
    const expected = Buffer.from(pin);
    return (presented) => {
      const actual = Buffer.from(hostKeyFingerprint(presented));
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    };
  }
  const expected = hostKeyBlob(pin);
  return (presented) =>
    Buffer.isBuffer(presented) && presented.length === expected.length && timingSafeEqual(presented, expected);
}
