import { describe, expect, it } from "vitest";
import { LatencyHistogram, WindowedHistogram } from "../../src/dashboard/latency-histogram.js";
import { CallRing, RecentCallsByConnection, Ring, type RecentCall } from "../../src/dashboard/recent-calls.js";
import { TopN } from "../../src/dashboard/top-n.js";

const call = (connectionId: string, method = "Send") => ["Chat", method, connectionId, 0, 1, "ok"] as const;

describe("LatencyHistogram", () => {
  it("keeps the same buckets however many calls it records", () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 100_000; i++) histogram.record(i % 1000);
    expect(histogram.counts.length).toBe(LatencyHistogram.bucketCount);
    expect(histogram.count).toBe(100_000);
  });

  it("reads percentiles within one bucket of the true value", () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms);
    for (const [q, truth] of [[0.5, 500], [0.95, 950], [0.99, 990]] as const) {
      const read = histogram.percentile(q)!;
      expect(read).toBeGreaterThanOrEqual(truth);
      expect(read).toBeLessThanOrEqual(truth * 1.19 + 1e-9);
    }
  });

  it("has no percentile without calls, and puts the extremes in the end buckets", () => {
    const histogram = new LatencyHistogram();
    expect(histogram.percentile(0.5)).toBeUndefined();
    expect(LatencyHistogram.bucketOf(0)).toBe(0);
    expect(LatencyHistogram.bucketOf(Number.NaN)).toBe(0);
    expect(LatencyHistogram.bucketOf(1e12)).toBe(LatencyHistogram.bucketCount - 1);
    expect(LatencyHistogram.bucketOf(LatencyHistogram.bounds[10]!)).toBe(10);
  });
});

describe("WindowedHistogram", () => {
  it("forgets calls older than two windows", () => {
    let now = 0;
    const windowed = new WindowedHistogram(1000, () => now);
    windowed.record(500);
    expect(windowed.percentiles().p50).toBeGreaterThanOrEqual(500);
    now = 1500; // one turn: the old call is still within the previous window
    windowed.record(1);
    expect(windowed.percentiles().p99).toBeGreaterThanOrEqual(500);
    now = 2600; // another: the 500 ms call is gone, the 1 ms one remains
    expect(windowed.percentiles().p99).toBeLessThan(2);
    now = 10_000; // long silence: nothing remains
    expect(windowed.percentiles().p50).toBeUndefined();
  });
});

describe("TopN", () => {
  it("keeps the n largest of any number of offers, largest first", () => {
    const top = new TopN(3);
    const sizes = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_000);
    sizes.forEach((size, i) => top.offer(`g${i}`, size));
    expect(top.result().map((g) => g.size)).toEqual([9999, 9998, 9997]);
  });

  it("orders equal sizes by name and takes nothing with n = 0", () => {
    const top = new TopN(2);
    top.offer("b", 1);
    top.offer("a", 1);
    expect(top.result()).toEqual([{ name: "a", size: 1 }, { name: "b", size: 1 }]);
    const none = new TopN(0);
    none.offer("a", 5);
    expect(none.result()).toEqual([]);
  });
});

describe("Ring", () => {
  it("keeps the last items, newest first", () => {
    const ring = new Ring<number>(3);
    for (let i = 1; i <= 10; i++) ring.push(i);
    expect(ring.toArray()).toEqual([10, 9, 8]);
    expect(ring.size).toBe(3);
  });
});

describe("CallRing", () => {
  it("writes over records made once, and hands out copies, newest first", () => {
    const ring = new CallRing(2);
    ring.record(...call("a", "One"));
    const first: RecentCall = ring.toArray()[0]!;
    ring.record(...call("a", "Two"));
    ring.record(...call("a", "Three"));
    expect(ring.toArray().map((c) => c.method)).toEqual(["Three", "Two"]);
    expect(first.method).toBe("One");
    expect(ring.size).toBe(2);
  });
});

describe("RecentCallsByConnection", () => {
  it("keeps calls for a bounded number of connections, those that called last", () => {
    const calls = new RecentCallsByConnection(2, 3);
    calls.record(...call("a"));
    calls.record(...call("b"));
    calls.record(...call("a", "Again")); // a called last: b is the one to make way
    calls.record(...call("c"));
    expect(calls.size).toBe(2);
    expect(calls.of("b")).toEqual([]);
    expect(calls.of("a").map((c) => c.method)).toEqual(["Again", "Send"]);
    expect(calls.of("c")).toHaveLength(1);
  });

  it("reuses the records of the connection that makes way, however many connections call", () => {
    const calls = new RecentCallsByConnection(4, 2);
    for (let i = 0; i < 1000; i++) calls.record(...call(`c${i}`));
    expect(calls.size).toBe(4);
    expect(calls.of("c999").map((c) => c.connectionId)).toEqual(["c999"]);
    expect(calls.of("c0")).toEqual([]);
  });

  it("keeps a bounded number of calls per connection and forgets a connection that ended", () => {
    const calls = new RecentCallsByConnection(10, 3);
    for (let i = 0; i < 100; i++) calls.record(...call("a", `M${i}`));
    expect(calls.of("a").map((c) => c.method)).toEqual(["M99", "M98", "M97"]);
    calls.forget("a");
    expect(calls.size).toBe(0);
  });
});
