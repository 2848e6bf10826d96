import { describe, expect, it } from "vitest";
import { SendSequences } from "../../src/lifetime/send-sequences.js";

describe("SendSequences", () => {
  it("drops a copy, and takes a number below the highest that it has not seen (sent again after a failure)", () => {
    const sequences = new SendSequences();
    expect([5, 9, 7, 9, 5].map((seq) => sequences.accept("A", "group:g", seq))).toEqual([true, true, true, false, false]);
  });

  it("counts each channel on its own: one server's channels may come through different shards", () => {
    const sequences = new SendSequences();
    expect(sequences.accept("A", "all", 2)).toBe(true);
    expect(sequences.accept("A", "group:g", 1)).toBe(true);
    expect(sequences.accept("B", "group:g", 1)).toBe(true);
  });

  it("takes anything older than the numbers it remembers for a copy, and forgets a channel", () => {
    const sequences = new SendSequences();
    for (let seq = 1; seq <= 1_025; seq++) sequences.accept("A", "all", seq);
    expect(sequences.accept("A", "all", 1)).toBe(false); // forgotten: below the floor
    expect(sequences.accept("A", "all", 1_025)).toBe(false); // remembered
    sequences.forgetChannel("all");
    expect(sequences.accept("A", "all", 1)).toBe(true);
  });
});
