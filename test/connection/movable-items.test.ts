import { describe, expect, it } from "vitest";
import { arrivedItems, movableItems } from "../../src/connection/movable-items.js";

// What of a connection's `items` moves with it to another server: string keys with plain data.

class Point {
  x = 1;
}

describe("movableItems", () => {
  it("moves string keys with plain data, and names every other key", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const local = Symbol("local");
    const items = new Map<unknown, unknown>([
      ["count", 3],
      ["name", "ada"],
      ["on", true],
      ["none", null],
      ["bytes", new Uint8Array([1])],
      ["nested", { list: [1, { deep: ["x"] }], empty: {} }],
      ["bare", Object.create(null) as object],
      [local, 1],
      [7, "a number key"],
      ["set", new Set([1])],
      ["map", new Map()],
      ["date", new Date(0)],
      ["instance", new Point()],
      ["function", () => 1],
      ["missing", undefined],
      ["not a number", Number.NaN],
      ["big", 1n],
      ["cyclic", cyclic],
      ["inner instance", { at: new Point() }],
    ]);
    const { moved, left } = movableItems(items);
    expect(moved.map(([key]) => key)).toEqual(["count", "name", "on", "none", "bytes", "nested", "bare"]);
    expect(left).toEqual(["Symbol(local)", "7", "set", "map", "date", "instance", "function", "missing", "not a number", "big", "cyclic", "inner instance"]);
  });

  it("takes only [string, value] pairs from a handoff", () => {
    expect(arrivedItems([["a", 1], ["b"], [2, "x"], "c", ["d", { e: 1 }]])).toEqual([
      ["a", 1],
      ["d", { e: 1 }],
    ]);
    expect(arrivedItems(undefined)).toEqual([]);
    expect(arrivedItems({ a: 1 })).toEqual([]);
  });
});
