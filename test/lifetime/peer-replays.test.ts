import { afterEach, describe, expect, it, vi } from "vitest";
import { PeerReplays, type ReplayGiveUp, type ReplayRequest } from "../../src/lifetime/peer-replays.js";

function replays(bounds = { maxBytes: 100, timeout: 1_000, retry: 300, lookback: 100, history: 1_000 }) {
  const incomplete: Array<[string, number, number]> = [];
  const replayed: Array<[string, number, number]> = [];
  const gaveUp: Array<[string, ReplayGiveUp, number]> = [];
  const askedAgain: ReplayRequest[] = [];
  const peer = new PeerReplays(bounds, {
    onReplayed: (...args) => void replayed.push(args),
    onIncomplete: (...args) => void incomplete.push(args),
    onGaveUp: (...args) => void gaveUp.push(args),
    onHeldThrew: (error) => {
      throw error;
    },
    onAskAgain: (request) => void askedAgain.push(request),
  });
  return { peer, incomplete, gaveUp, replayed, askedAgain };
}

/** A drop found when it happened (its connection closed). */
const dropNow = () => ({ partial: false, unordered: false, since: Date.now() });

describe("PeerReplays", () => {
  afterEach(() => void vi.useRealTimers());

  it("holds a peer's messages from a link drop until the last part of its answer, then delivers them in order", () => {
    const { peer, incomplete, replayed } = replays();
    peer.heartbeat("A", 40);
    peer.heartbeat("old", 3);
    peer.linkDropped(["A", "never numbered"], dropNow());
    const delivered: number[] = [];
    expect(peer.hold("A", 10, () => delivered.push(1))).toBe(true);
    expect(peer.hold("never numbered", 10, () => delivered.push(99))).toBe(false);
    expect(peer.hold("old", 10, () => delivered.push(99))).toBe(false); // not a live peer at the drop
    expect(peer.requests()).toEqual([{ serverId: "A", requestId: 1, after: 40 }]);
    expect(peer.requests()).toEqual([]); // asked once
    peer.hold("A", 10, () => delivered.push(2));
    peer.answered("A", 1, { from: 41, first: true, last: false, messages: 1 });
    expect(delivered).toEqual([]);
    peer.answered("A", 1, { from: 41, first: false, last: true, messages: 1 });
    expect(delivered).toEqual([1, 2]);
    expect(peer.holding).toBe(false);
    expect(incomplete).toEqual([]);
    expect(replayed).toEqual([["A", 2, 2]]);
  });

  it("says what may be lost when the answer starts past the number asked for", () => {
    const { peer, incomplete } = replays();
    peer.heartbeat("A", 40);
    peer.linkDropped(["A"], dropNow());
    peer.requests();
    peer.answered("A", 1, { from: 50, first: true, last: true, messages: 1 });
    expect(incomplete).toEqual([["A", 40, 50]]);
  });

  it.each([
    ["one of them dropped", true],
    ["all dropped at once", false],
  ])("starts from the heartbeat heard a lookback before the last where links keep no order between them and %s", (_, partial) => {
    vi.useFakeTimers();
    const { peer } = replays();
    for (const seq of [10, 20, 30, 40]) {
      peer.heartbeat("A", seq);
      vi.advanceTimersByTime(60);
    }
    peer.heartbeat("B", 5); // heard once, just now: the oldest it has
    peer.linkDropped(["A", "B"], { partial, unordered: true, since: Date.now() });
    expect(peer.requests()).toEqual([
      { serverId: "A", requestId: 1, after: 30 }, // heard 120 ms before the drop
      { serverId: "B", requestId: 2, after: 5 },
    ]);
  });

  it("starts from the heartbeat heard before a link found silent was last known to deliver", () => {
    vi.useFakeTimers();
    const { peer } = replays();
    const heardAt: number[] = [];
    for (const seq of [10, 20, 30, 40, 50]) {
      heardAt.push(Date.now());
      peer.heartbeat("A", seq);
      vi.advanceTimersByTime(200);
    }
    // It last answered just after heartbeat 20: heartbeats 30 to 50 came on another link.
    peer.linkDropped(["A"], { partial: false, unordered: false, since: heardAt[1]! + 10 });
    expect(peer.requests()).toEqual([{ serverId: "A", requestId: 1, after: 20 }]);
  });

  it("holds what comes on other links while the dropped one is not back for its timeout at most", () => {
    vi.useFakeTimers();
    const { peer, gaveUp } = replays({ maxBytes: 100, timeout: 1_000, retry: 300, lookback: 100, history: 1_000 });
    peer.heartbeat("A", 1);
    peer.linkDropped(["A"], { partial: true, unordered: true, since: Date.now() });
    vi.advanceTimersByTime(5_000); // nothing held: nothing to bound yet
    const delivered: number[] = [];
    peer.hold("A", 1, () => delivered.push(1));
    vi.advanceTimersByTime(999);
    expect(delivered).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(delivered).toEqual([1]);
    expect(gaveUp).toEqual([["A", "link not back", 1]]);
    expect(peer.requests()).toEqual([]);
  });

  it("asks again after a second drop, and an answer to the first request does not end the wait", () => {
    const { peer } = replays();
    peer.heartbeat("A", 40);
    peer.linkDropped(["A"], dropNow());
    peer.requests();
    peer.heartbeat("A", 60); // heard on the new link, before the answer
    peer.linkDropped(["A"], dropNow());
    const delivered: number[] = [];
    peer.hold("A", 1, () => delivered.push(1));
    peer.answered("A", 1, { from: 41, first: true, last: true, messages: 1 });
    expect(delivered).toEqual([]);
    expect(peer.requests()).toEqual([{ serverId: "A", requestId: 2, after: 40 }]);
    peer.answered("A", 2, { from: 41, first: true, last: true, messages: 1 });
    expect(delivered).toEqual([1]);
  });

  it("makes a request again, the same, while no part of its answer came, and no more once one did", () => {
    vi.useFakeTimers();
    const { peer, askedAgain } = replays();
    peer.heartbeat("A", 40);
    peer.linkDropped(["A"], dropNow());
    const [request] = peer.requests();
    expect(request).toEqual({ serverId: "A", requestId: 1, after: 40 });
    vi.advanceTimersByTime(299);
    expect(askedAgain).toEqual([]);
    vi.advanceTimersByTime(301); // two retries
    expect(askedAgain).toEqual([request, request]);
    peer.answered("A", 1, { from: 41, first: true, last: false, messages: 1 });
    vi.advanceTimersByTime(300);
    expect(askedAgain).toHaveLength(2);
    peer.answered("A", 1, { from: 41, first: false, last: true, messages: 1 });
    expect(peer.holding).toBe(false);
  });

  it("stops asking again when the wait ends, or a new drop makes a new request", () => {
    vi.useFakeTimers();
    const { peer, askedAgain, gaveUp } = replays();
    peer.heartbeat("A", 40);
    peer.linkDropped(["A"], dropNow());
    peer.requests();
    peer.linkDropped(["A"], dropNow());
    vi.advanceTimersByTime(600);
    expect(askedAgain).toEqual([]); // the new drop waits for its link, not for request 1
    peer.requests();
    vi.advanceTimersByTime(1_000);
    expect(gaveUp).toEqual([["A", "no answer", 0]]);
    const asked = askedAgain.length;
    vi.advanceTimersByTime(1_000);
    expect(askedAgain).toHaveLength(asked);
    expect(askedAgain.every((request) => request.requestId === 2)).toBe(true);
  });

  it("delivers what it held without the answer after its timeout, past its byte bound, or when the peer is gone", () => {
    vi.useFakeTimers();
    const { peer, gaveUp } = replays({ maxBytes: 100, timeout: 1_000, retry: 300, lookback: 100, history: 1_000 });
    for (const id of ["A", "B", "C"]) peer.heartbeat(id, 1);
    peer.linkDropped(["A", "B", "C"], dropNow());
    const delivered: string[] = [];
    for (const id of ["A", "B", "C"]) peer.hold(id, 60, () => delivered.push(id));
    peer.hold("B", 60, () => delivered.push("B2")); // 120 bytes
    expect(delivered).toEqual(["B", "B2"]);
    peer.forget("C");
    expect(delivered).toEqual(["B", "B2", "C"]);
    peer.requests();
    vi.advanceTimersByTime(1_000);
    expect(delivered).toEqual(["B", "B2", "C", "A"]);
    expect(gaveUp).toEqual([
      ["B", "held too much", 2],
      ["A", "no answer", 1],
    ]);
    expect(peer.holding).toBe(false);
  });
});
