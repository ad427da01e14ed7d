import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkToken, configPath, DEFAULT_URL, readConfig, resolveSettings, writeConfig } from "./config.ts";
import { CliError, UsageError } from "./errors.ts";

const temp = () => mkdtempSync(join(tmpdir(), "a4c-config-"));

describe("config", () => {
  test("lives in the user's config directory (XDG_CONFIG_HOME on Linux), or A4C_CONFIG when set", () => {
    expect(configPath({})).toEndWith("/a4c/config.json");
    expect(configPath({ A4C_CONFIG: "/y/c.json" })).toBe("/y/c.json");
  });

  test("is written with mode 0600 in a 0700 directory, whatever the umask", () => {
    const path = join(temp(), "a4c", "config.json");
    const old = process.umask(0o000);
    try {
      writeConfig({ url: "http://h:1", token: "t" }, path);
      writeConfig({ url: "http://h:2", token: "u" }, path);
    } finally {
      process.umask(old);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ url: "http://h:2", token: "u" });
    expect(readConfig(path)).toEqual({ url: "http://h:2", token: "u" });
  });

  test("missing is empty; unreadable is an error that says what to do", () => {
    expect(readConfig(join(temp(), "none.json"))).toEqual({});
    const bad = join(temp(), "bad.json");
    writeFileSync(bad, "{not json");
    expect(() => readConfig(bad)).toThrow(CliError);
  });

  test("A4C_URL and A4C_TOKEN override the stored login", () => {
    const stored = { url: "http://stored:1/", token: "stored" };
    expect(resolveSettings({}, stored)).toEqual({ url: "http://stored:1", token: "stored", tokenSource: "config" });
    expect(resolveSettings({ A4C_URL: "http://env:2", A4C_TOKEN: "env" }, stored)).toEqual({
      url: "http://env:2",
      token: "env",
      tokenSource: "A4C_TOKEN",
    });
    expect(resolveSettings({}, {})).toEqual({ url: DEFAULT_URL, token: null, tokenSource: "none" });
    expect(() => resolveSettings({ A4C_URL: "ftp://x" }, {})).toThrow(UsageError);
  });
});

describe("tokens", () => {
  test("a pasted line's whitespace is dropped; spaces, newlines inside or control characters are usage errors", () => {
    expect(checkToken("  a4c_abc\n", "--token")).toBe("a4c_abc");
    for (const bad of ["", "a4c abc", "a4c_abc\nthe\nrest", "a4c\u0000x", "x".repeat(513)]) {
      expect(() => checkToken(bad, "--token")).toThrow("Not a token");
    }
    expect(() => resolveSettings({ A4C_TOKEN: "two words" }, {})).toThrow("Not a token (A4C_TOKEN)");
  });
});
