import { describe, expect, it } from "vitest";
import { copyWindow, SendSequences } from "../../src/lifetime/send-sequences.js";

/** The numbers `sequences` keeps for `channel` of server A. */
const kept = (sequences: SendSequences, channel: string) => sequences.records([channel])[0]![3];

describe("SendSequences", () => {
  it("drops a copy, and takes a number below the highest that it has not seen (sent again after a failure)", () => {
    const sequences = new SendSequences();
    expect([5, 9, 7, 9, 5, 7, 8].map((seq) => sequences.accept("A", "group:g", seq))).toEqual([true, true, true, false, false, false, true]);
    expect(kept(sequences, "group:g")).toEqual([5, 7, 8, 9]);
  });

  it("counts each channel on its own: one server's channels may come through different shards", () => {
    const sequences = new SendSequences();
    expect(sequences.accept("A", "all", 2)).toBe(true);
    expect(sequences.accept("A", "group:g", 1)).toBe(true);
    expect(sequences.accept("B", "group:g", 1)).toBe(true);
  });

  it("takes a number more than the copy window below a channel's newest for a copy, and forgets a channel", () => {
    const sequences = new SendSequences();
    for (let seq = 1; seq <= copyWindow + 1; seq++) sequences.accept("A", "all", seq);
    expect(sequences.accept("A", "all", 1)).toBe(false); // forgotten: at the floor
    expect(sequences.accept("A", "all", 2)).toBe(false); // remembered
    expect(sequences.accept("A", "all", copyWindow + 1)).toBe(false);
    sequences.forgetChannel("all");
    expect(sequences.accept("A", "all", 1)).toBe(true);
  });

  it("keeps only the numbers within the copy window: few for a connection's channel, at most the window for a busy one", () => {
    const sequences = new SendSequences();
    // A server's sends spread over 1,000 connections' channels, and every one also on `all`.
    for (let seq = 1; seq <= 200_000; seq++) {
      sequences.accept("A", `connection:${seq % 1_000}`, seq);
      sequences.accept("A", "all", seq);
    }
    expect(kept(sequences, "connection:7")).toEqual([198_007, 199_007]); // 1,000 apart: two within the window
    expect(kept(sequences, "all")).toHaveLength(copyWindow);
    // A send published again after a failure: within the window it is still told from a copy.
    expect(sequences.accept("A", "connection:7", 199_007)).toBe(false);
    expect(sequences.accept("A", "connection:7", 199_500)).toBe(true);
  });
});
