import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBuildContext } from "./build-context.ts";
import { UsageError } from "./errors.ts";

const DOCKERFILE = "FROM a4c/base:latest\nCOPY . /app\n";

/** A folder with `files` (path → text or bytes) and a Dockerfile beside it (outside the context). */
function tree(files: Record<string, string | Uint8Array>): { dockerfile: string; dir: string } {
  const base = mkdtempSync(join(tmpdir(), "a4c-context-"));
  const dir = join(base, "ctx");
  mkdirSync(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const dockerfile = join(base, "Dockerfile");
  writeFileSync(dockerfile, DOCKERFILE);
  return { dockerfile, dir };
}

function refusal(f: () => unknown): UsageError {
  try {
    f();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error("expected a UsageError");
}

describe("the build context", () => {
  test("the Dockerfile and every file under the folder by relative path, sorted; bytes as the gateway counts", () => {
    const { dockerfile, dir } = tree({
      "src/main.sh": "echo hi\n",
      "hello.txt": "hello\n",
      "src/lib/x.txt": "ü\n",
      "a/b.conf": "k=v",
    });
    const c = readBuildContext(dockerfile, dir);
    expect(c.dockerfile).toBe(DOCKERFILE);
    expect(Object.keys(c.files)).toEqual(["a/b.conf", "hello.txt", "src/lib/x.txt", "src/main.sh"]);
    expect(c.files["src/lib/x.txt"]).toBe("ü\n");
    const expected =
      Buffer.byteLength(DOCKERFILE) +
      Object.entries(c.files).reduce((n, [p, t]) => n + Buffer.byteLength(p) + Buffer.byteLength(t), 0);
    expect(c.bytes).toBe(expected);
    expect(c.skipped).toEqual([]);
  });

  test("without a context folder only the Dockerfile is sent", () => {
    const { dockerfile } = tree({});
    expect(readBuildContext(dockerfile)).toEqual({
      dockerfile: DOCKERFILE,
      files: {},
      bytes: DOCKERFILE.length,
      skipped: [],
    });
  });

  test(".git, symbolic links and the root Dockerfile are not sent (and said so); a nested Dockerfile is", () => {
    const { dockerfile, dir } = tree({
      ".git/HEAD": "ref: refs/heads/main\n",
      ".git/objects/ab/cdef": "blob",
      "vendor/lib/.git": "gitdir: ../../.git/modules/lib\n",
      "vendor/lib/code.txt": "code",
      Dockerfile: "FROM other\n",
      "docker/Dockerfile": "FROM nested\n",
    });
    symlinkSync("/etc/passwd", join(dir, "passwd"));
    const c = readBuildContext(dockerfile, dir);
    expect(Object.keys(c.files)).toEqual(["docker/Dockerfile", "vendor/lib/code.txt"]);
    expect(c.skipped.map((s) => s.path)).toEqual([".git", "Dockerfile", "passwd", "vendor/lib/.git"]);
    expect(c.skipped.find((s) => s.path === "passwd")?.why).toBe("a symbolic link");
  });

  test("more files than allowed: refused, naming the first one over", () => {
    const { dockerfile, dir } = tree({ "a.txt": "a", "b.txt": "b", "c.txt": "c" });
    expect(Object.keys(readBuildContext(dockerfile, dir, { files: 3, bytes: 10_000 }).files)).toHaveLength(3);
    const e = refusal(() => readBuildContext(dockerfile, dir, { files: 2, bytes: 10_000 }));
    expect(e.message).toBe("The build context has too many files");
    expect(e.detail).toContain("c.txt");
    expect(e.exitCode).toBe(2);
  });

  test("more bytes than allowed (Dockerfile, paths and texts): refused at the file that goes over", () => {
    const { dockerfile, dir } = tree({ "a.txt": "x".repeat(10), "b.txt": "y".repeat(10) });
    const exact = Buffer.byteLength(DOCKERFILE) + 2 * (5 + 10);
    expect(readBuildContext(dockerfile, dir, { files: 100, bytes: exact }).bytes).toBe(exact);
    const e = refusal(() => readBuildContext(dockerfile, dir, { files: 100, bytes: exact - 1 }));
    expect(e.message).toBe("The build context is too large");
    expect(e.detail).toContain("b.txt");
  });

  test("a path the API does not take, a binary file: refused, naming the file; a BOM is kept as it is", () => {
    const spaced = tree({ "my notes.txt": "x" });
    expect(refusal(() => readBuildContext(spaced.dockerfile, spaced.dir)).message).toBe("Cannot send my notes.txt");
    const binary = tree({ "logo.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00]) });
    expect(refusal(() => readBuildContext(binary.dockerfile, binary.dir)).message).toBe("logo.png is not UTF-8 text");
    const bom = tree({ "bom.txt": "\ufeffhello" });
    expect(readBuildContext(bom.dockerfile, bom.dir).files["bom.txt"]).toBe("\ufeffhello");
  });

  test("a missing or empty Dockerfile, a context that is not a folder: usage errors", () => {
    const { dockerfile, dir } = tree({ "a.txt": "a" });
    expect(refusal(() => readBuildContext(join(dir, "nope"))).message).toContain("Cannot read the Dockerfile");
    writeFileSync(join(dir, "empty"), "  \n");
    expect(refusal(() => readBuildContext(join(dir, "empty"))).message).toContain("is empty");
    expect(refusal(() => readBuildContext(dockerfile, join(dir, "a.txt"))).message).toContain("is not a folder");
    expect(refusal(() => readBuildContext(dockerfile, join(dir, "missing"))).message).toContain(
      "Cannot read the context",
    );
  });
});
