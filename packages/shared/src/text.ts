/**
 * Text a client may send us and PostgreSQL, Elasticsearch and terminals can carry unchanged:
 * no control characters (C0, DEL, C1: PostgreSQL refuses U+0000 outright, the others corrupt
 * logs and terminals) and no lone surrogates (not Unicode text; PostgreSQL's UTF-8 refuses them).
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** The same, but tab, line feed and carriage return allowed: file contents (a Dockerfile). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL_IN_FILE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `s` is not safe text, or null when it is. */
export function unsafeTextReason(s: string, file = false): string | null {
  if ((file ? CONTROL_IN_FILE : CONTROL).test(s)) {
    return file
      ? "must not contain control characters other than tab and line ends"
      : "must not contain control characters";
  }
  if (LONE_SURROGATE.test(s)) return "must be well-formed Unicode (a lone surrogate was found)";
  return null;
}

/**
 * The first string (or object key) in a JSON value that is not safe text, with its JSON pointer.
 * Strings at the paths `isFile` names hold a file's text: tabs and line ends are allowed there.
 */
export function findUnsafeText(
  value: unknown,
  path = "",
  isFile: (path: string) => boolean = () => false,
): { path: string; reason: string } | null {
  if (typeof value === "string") {
    const reason = unsafeTextReason(value, isFile(path));
    return reason ? { path: shown(path), reason } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeText(value[i], `${path}/${i}`, isFile);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      const keyReason = unsafeTextReason(key);
      if (keyReason) return { path: shown(path), reason: `field names ${keyReason}` };
      const found = findUnsafeText(v, `${path}/${pointerEscape(key)}`, isFile);
      if (found) return found;
    }
  }
  return null;
}

/** A JSON pointer as shown back to the client: bounded, since keys are the client's own text. */
const shown = (path: string) => (path === "" ? "/" : path.length > 100 ? `${path.slice(0, 100)}…` : path);

const pointerEscape = (key: string) => key.replace(/~/g, "~0").replace(/\//g, "~1");
