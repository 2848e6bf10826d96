import { describe, expect, it } from "vitest";
import { SlotOwners } from "../../src/redis/slot-owners.js";

/** A slot map as ioredis keeps it: slots 0 to 99 on `a`, the rest on `b`, `moved` on `c`. */
function map(moved: number[] = []): string[][] {
  return Array.from({ length: 16_384 }, (_, slot) => [moved.includes(slot) ? "c" : slot < 100 ? "a" : "b"]);
}

describe("SlotOwners", () => {
  it("finds the watched slots whose owner changed, missed since the read before the last that found them in place", () => {
    const owners = new SlotOwners();
    expect(owners.take(map(), 1_000, [5, 500]).slots).toEqual([]); // the first read: nothing to compare with
    expect(owners.take(map(), 2_000, [5, 500]).slots).toEqual([]);
    // The read at 2 000 may have come from a node a moment behind a move made just before it.
    expect(owners.take(map([5, 6]), 3_000, [5, 500])).toEqual({ slots: [5], since: 1_000 });
    expect(owners.take(map([5, 6]), 4_000, [5, 500]).slots).toEqual([]);
  });

  it("takes what moved as missed since Redis was seen ending a subscription, when reads behind the move came after", () => {
    const owners = new SlotOwners();
    owners.take(map(), 1_000, [5]);
    owners.take(map(), 2_000, [5]);
    owners.ended(2_500); // the shard handed slot 5 on; the next two reads are behind it
    owners.take(map(), 2_510, [5]);
    owners.take(map(), 3_000, [5]);
    expect(owners.take(map([5]), 4_000, [5])).toEqual({ slots: [5], since: 2_500 });
  });

  it("keeps an end of Redis's until a move is found, and forgets it then", () => {
    const owners = new SlotOwners();
    owners.take(map(), 1_000, [5]);
    owners.ended(1_500);
    for (const at of [2_000, 3_000, 4_000]) owners.take(map(), at, [5]);
    expect(owners.take(map([5]), 5_000, [5]).since).toBe(1_500);
    owners.take(map([5]), 6_000, [5]);
    expect(owners.take(map(), 7_000, [5]).since).toBe(5_000);
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
