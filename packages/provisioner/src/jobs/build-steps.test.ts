import { describe, expect, test } from "bun:test";
import { cleanLogLine, LOG_LIMITS } from "./build-steps.ts";

describe("cleanLogLine", () => {
  test("terminal escapes and control characters go, tabs and text stay", () => {
    expect(cleanLogLine("\u001b[31mred\u001b[0m\tok")).toBe("red\tok");
    expect(cleanLogLine("a\u0000b\u0007c\u009bd")).toBe("abcd");
    // An OSC sequence (sets a terminal's title, or worse) is removed whole.
    expect(cleanLogLine("\u001b]0;owned\u0007after")).toBe("after");
    expect(cleanLogLine("Step 1/2 : FROM a4c/base:latest")).toBe("Step 1/2 : FROM a4c/base:latest");
  });

  test("a line without end is cut", () => {
    const line = cleanLogLine("x".repeat(LOG_LIMITS.lineChars * 3));
    expect(line.length).toBe(LOG_LIMITS.lineChars + 1);
    expect(line.endsWith("…")).toBe(true);
  });
});
