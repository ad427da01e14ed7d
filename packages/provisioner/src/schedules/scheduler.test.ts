import { describe, expect, test } from "bun:test";
import { dueTick } from "./scheduler.ts";

const at = (iso: string) => new Date(iso);

describe("dueTick", () => {
  test("nothing is due before the first tick after the last one claimed", () => {
    expect(dueTick("0 * * * *", "UTC", at("2026-12-02T10:00:00Z"), at("2026-12-02T10:59:59Z"))).toBeNull();
  });

  test("the tick that just came is due", () => {
    expect(dueTick("0 * * * *", "UTC", at("2026-12-02T10:00:00Z"), at("2026-12-02T11:00:00Z"))).toEqual(
      at("2026-12-02T11:00:00Z"),
    );
  });

  test("after missed ticks only the newest is due: one catch-up, not a burst", () => {
    // Down from 10:00 to 15:30: the 11:00…15:00 ticks were missed; 15:00 is the one catch-up.
    expect(dueTick("0 * * * *", "UTC", at("2026-12-02T10:00:00Z"), at("2026-12-02T15:30:00Z"))).toEqual(
      at("2026-12-02T15:00:00Z"),
    );
  });

  test("seconds and time zones: 02:00 in Paris is 01:00 UTC in winter", () => {
    expect(dueTick("0 0 2 * * *", "Europe/Paris", at("2026-12-01T12:00:00Z"), at("2026-12-02T01:00:05Z"))).toEqual(
      at("2026-12-02T01:00:00Z"),
    );
    expect(dueTick("*/5 * * * * *", "UTC", at("2026-12-02T10:00:00Z"), at("2026-12-02T10:00:12Z"))).toEqual(
      at("2026-12-02T10:00:10Z"),
    );
  });

  test("an invalid expression throws (the gateway refuses it first)", () => {
    expect(() => dueTick("not a cron", "UTC", new Date(), new Date())).toThrow();
  });
});
