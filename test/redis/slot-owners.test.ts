import { describe, expect, it } from "vitest";
import { SlotOwners } from "../../src/redis/slot-owners.js";

/** A slot map as ioredis keeps it: slots 0 to 99 on `a`, the rest on `b`, `moved` on `c`. */
function map(moved: number[] = []): string[][] {
  return Array.from({ length: 16_384 }, (_, slot) => [moved.includes(slot) ? "c" : slot < 100 ? "a" : "b"]);
}

describe("SlotOwners", () => {
  it("finds the watched slots whose owner changed since the read before, and says when that one was asked for", () => {
    const owners = new SlotOwners();
    expect(owners.take(map(), 1_000, [5, 500])).toEqual({ slots: [], since: 0 }); // the first read: nothing to compare with
    expect(owners.take(map([5, 6]), 2_000, [5, 500])).toEqual({ slots: [5], since: 1_000 });
    expect(owners.take(map([5, 6]), 3_000, [5, 500])).toEqual({ slots: [], since: 2_000 });
  });

  it("compares every slot when it is not told which are watched", () => {
    const owners = new SlotOwners();
    owners.take(map(), 1_000);
    expect(owners.take(map([7, 9_000]), 2_000).slots).toEqual([7, 9_000]);
  });

  it("counts a slot that no node owns for the moment as moved, and again when it has an owner", () => {
    const owners = new SlotOwners();
    owners.take(map(), 1_000);
    const unowned = map();
    delete unowned[5];
    expect(owners.take(unowned, 2_000, [5]).slots).toEqual([5]);
    expect(owners.take(map([5]), 3_000, [5]).slots).toEqual([5]);
  });
});
