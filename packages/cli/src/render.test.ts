import { describe, expect, test } from "bun:test";
import { ago, bytes, colorsFor, duration, facetLine, fields, paintStatus, shortId, table } from "./render.ts";

const plain = colorsFor({ isTTY: false }, {});

describe("render", () => {
  test("colours only on a terminal, never with NO_COLOR; FORCE_COLOR wins", () => {
    expect(paintStatus(plain, "FAILED")).toBe("FAILED");
    expect(paintStatus(colorsFor({ isTTY: true }, {}), "FAILED")).toContain("\u001b[31m");
    expect(paintStatus(colorsFor({ isTTY: true }, { NO_COLOR: "1" }), "FAILED")).toBe("FAILED");
    expect(paintStatus(colorsFor({ isTTY: false }, { FORCE_COLOR: "1" }), "FAILED")).toContain("\u001b[");
  });

  test("short ids keep the random tail of a UUIDv7", () => {
    expect(shortId("01a234f7-685c-700f-b55d-42a60bd51c64")).toBe("…0bd51c64");
    expect(shortId(null)).toBe("-");
  });

  test("durations, ages and sizes", () => {
    expect(duration(250)).toBe("0.3s");
    expect(duration(42_000)).toBe("42s");
    expect(duration(125_000)).toBe("2m05s");
    expect(duration(3_720_000)).toBe("1h02m");
    const now = Date.parse("2025-01-02T00:00:00Z");
    expect(ago("2025-01-01T23:59:30Z", now)).toBe("30s ago");
    expect(ago("2025-01-01T21:00:00Z", now)).toBe("3h ago");
    expect(bytes(512)).toBe("512 B");
    expect(bytes(3 * 1024 * 1024)).toBe("3.0 MiB");
  });

  test("tables are aligned without borders; empty cells show -", () => {
    const t = table(
      plain,
      ["ID", "STATUS"],
      [
        ["a", "RUNNING"],
        ["bbbb", null],
      ],
    );
    expect(t.split("\n")).toEqual(["ID    STATUS", "a     RUNNING", "bbbb  -"]);
  });

  test("fields align labels and leave empty values out; facets largest first", () => {
    expect(
      fields(plain, [
        ["status", "ok"],
        ["error", null],
        ["operation", "x"],
      ]),
    ).toBe("status     ok\noperation  x");
    expect(facetLine(plain, { completed: 2, failed: 5, canceled: 0 })).toBe("failed 5 · completed 2");
    expect(facetLine(plain, {})).toBe("-");
  });
});
