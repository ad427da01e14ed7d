import { describe, expect, test } from "bun:test";
import type { PlacementCandidate } from "@a4c/shared";
import fc from "fast-check";
import { capacity, chooseHost, diskUsed, noRoomNote } from "./placement.ts";

const MiB = 1048576;
const host = (name: string, o: Partial<PlacementCandidate> = {}): PlacementCandidate => ({
  id: `id-${name}`,
  name,
  state: "active",
  usedBytes: 100 * MiB,
  totalBytes: 10_000 * MiB,
  fsFreeBytes: 9_000 * MiB,
  diskLimitBytes: null,
  reservedBytes: 0,
  ...o,
});

describe("chooseHost", () => {
  test("the least disk used wins, reservations included", () => {
    const hosts = [
      host("a", { usedBytes: 300 * MiB }),
      host("b", { usedBytes: 100 * MiB, reservedBytes: 250 * MiB }),
      host("c", { usedBytes: 200 * MiB }),
    ];
    expect(chooseHost(hosts, 64 * MiB).hostId).toBe("id-c");
  });

  test("a host that has the image comes first among those with room, whatever its disk", () => {
    const hosts = [
      host("a", { usedBytes: 100 * MiB }),
      host("b", { usedBytes: 900 * MiB }),
      host("c", { usedBytes: 9_990 * MiB }),
    ];
    expect(chooseHost(hosts, 64 * MiB, new Set(["id-b"])).hostId).toBe("id-b");
    // Preferred but full: the least used of the others.
    expect(chooseHost(hosts, 64 * MiB, new Set(["id-c"])).hostId).toBe("id-a");
  });

  test("draining, unreachable, unread and full hosts are passed over, with the reason", () => {
    const hosts = [
      host("a", { state: "draining" }),
      host("b", { state: "unreachable" }),
      host("c", { totalBytes: 0 }),
      host("d", { diskLimitBytes: 150 * MiB }),
      host("e", { fsFreeBytes: 10 * MiB }),
    ];
    const d = chooseHost(hosts, 64 * MiB);
    expect(d.hostId).toBeNull();
    expect(d.reasons).toEqual({
      a: "draining",
      b: "unreachable",
      c: "disk not read yet",
      d: "full (50 MiB left)",
      e: "filesystem full",
    });
    expect(noRoomNote(d, 64 * MiB, 5)).toContain("waiting for a host with 64 MiB free: a draining");
  });

  test("property: a chosen host has room and no host with room is less used", () => {
    const candidate = fc.record({
      state: fc.constantFrom("active", "active", "draining", "unreachable"),
      usedBytes: fc.integer({ min: 0, max: 1000 }),
      reservedBytes: fc.integer({ min: 0, max: 1000 }),
      totalBytes: fc.integer({ min: 1, max: 3000 }),
      fsFreeBytes: fc.integer({ min: 0, max: 3000 }),
      diskLimitBytes: fc.option(fc.integer({ min: 1, max: 3000 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 8 }), fc.integer({ min: 1, max: 500 }), (raw, need) => {
        const hosts = raw.map((r, i) => host(`h${i}`, r as Partial<PlacementCandidate>));
        const { hostId } = chooseHost(hosts, need);
        const roomy = hosts.filter(
          (h) => h.state === "active" && diskUsed(h) + need <= capacity(h) && h.fsFreeBytes - h.reservedBytes >= need,
        );
        if (hostId === null) return expect(roomy).toEqual([]);
        const chosen = hosts.find((h) => h.id === hostId) as PlacementCandidate;
        expect(roomy).toContain(chosen);
        for (const h of roomy) expect(diskUsed(chosen)).toBeLessThanOrEqual(diskUsed(h));
      }),
    );
  });
});
