import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Presence, type PresenceEvents } from "../../src/lifetime/presence.js";

/**
 * Presence alone, on fake timers: its events are the seam to the backplane. A server that
 * publishes its heartbeats but never hears them (a subscription lost beneath the backplane) must
 * not keep its outbox waiting for ever.
 */
describe("Presence", () => {
  const times = { heartbeatInterval: 100, timeout: 300 };
  let calls: string[];
  let publishing: "ok" | "failing";
  let events: PresenceEvents;

  beforeEach(() => {
    vi.useFakeTimers();
    calls = [];
    publishing = "ok";
    events = {
      publishHeartbeat: () => (publishing === "ok" ? Promise.resolve(1) : Promise.reject(new Error("unreachable"))),
      onServerGone: (id) => void calls.push(`gone ${id}`),
      onDown: () => void calls.push("down"),
      onUnheard: () => void calls.push("unheard"),
      onListeners: () => void calls.push("listeners"),
      onPeerDeaf: (id) => void calls.push(`deaf ${id}`),
    };
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A presence that heard itself once, then went down (a publish failed) and awaits listeners. */
  async function downAndAwaiting(): Promise<Presence> {
    const presence = new Presence("me", times, events);
    presence.start();
    presence.heard("me", false);
    presence.down();
    presence.awaitListeners();
    await vi.advanceTimersByTimeAsync(0);
    calls = calls.filter((call) => call !== "down");
    return presence;
  }

  it("resumes at once when it hears itself and nobody else serves the hub", async () => {
    const presence = await downAndAwaiting();
    presence.heard("me", false);
    expect(calls).toEqual(["listeners"]);
    presence.stop();
  });

  it("asks for its subscriptions again when its heartbeats go out but never come back, then stops waiting", async () => {
    const presence = await downAndAwaiting();
    await vi.advanceTimersByTimeAsync(times.timeout + times.heartbeatInterval);
    expect(calls).toEqual(["unheard"]);
    await vi.advanceTimersByTimeAsync(times.timeout);
    expect(calls).toEqual(["unheard", "listeners"]);
    // Asked again after twice as long each time: 3 timeouts, then 7.
    await vi.advanceTimersByTimeAsync(times.timeout);
    expect(calls).toEqual(["unheard", "listeners", "unheard"]);
    await vi.advanceTimersByTimeAsync(3 * times.timeout);
    expect(calls).toEqual(["unheard", "listeners", "unheard"]);
    await vi.advanceTimersByTimeAsync(times.timeout);
    expect(calls).toEqual(["unheard", "listeners", "unheard", "unheard"]);
    presence.stop();
  });

  it("keeps waiting while its heartbeats cannot be published: the backplane is away, not a subscription", async () => {
    publishing = "failing";
    const presence = await downAndAwaiting();
    await vi.advanceTimersByTimeAsync(10 * times.timeout);
    expect(calls).toEqual([]);
    // The backplane is back: the clock starts with the first heartbeat that goes out.
    publishing = "ok";
    await vi.advanceTimersByTimeAsync(times.timeout);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(2 * times.timeout);
    expect(calls).toContain("listeners");
    presence.stop();
  });

  it("waits again after a later publish fails", async () => {
    const presence = await downAndAwaiting();
    await vi.advanceTimersByTimeAsync(2 * times.timeout + times.heartbeatInterval);
    expect(calls).toContain("listeners");
    calls = [];
    presence.down(); // what it sent once it stopped waiting failed
    presence.awaitListeners();
    await vi.advanceTimersByTimeAsync(times.heartbeatInterval);
    expect(calls).toEqual([]);
    presence.heard("me", false);
    expect(calls).toEqual(["listeners"]);
    presence.stop();
  });

  /** A started presence that hears itself, how many heartbeats it published so far, and what the last said. */
  function hearingItself(): { presence: Presence; beats: () => number; last: () => { listening: boolean; linkDropped: boolean } } {
    let beats = 0;
    let last = { listening: false, linkDropped: false };
    const publish = events.publishHeartbeat;
    events.publishHeartbeat = (listening, sentAt, linkDropped) => {
      beats++;
      last = { listening, linkDropped };
      return publish(listening, sentAt, linkDropped);
    };
    const presence = new Presence("me", times, events);
    presence.start();
    presence.heard("me", false);
    return { presence, beats: () => beats, last: () => last };
  }

  it("goes down when a link to the backplane drops, says so at once, and beats again when one is back", async () => {
    const { presence, beats, last } = hearingItself();
    const up = beats();
    presence.linkDropped();
    expect(calls).toEqual(["down"]);
    expect(presence.hearsItself).toBe(false);
    expect(beats()).toBe(up + 1);
    expect(last()).toEqual({ listening: false, linkDropped: true });
    presence.linkDropped(); // the other link, or a failed reconnect attempt: down once
    expect(calls).toEqual(["down"]);
    const before = beats();
    presence.linkRestored();
    expect(beats()).toBe(before + 1);
    presence.heard("me", false);
    expect(last()).toEqual({ listening: true, linkDropped: false });
    const again = beats();
    presence.stop();
    // Stopped (the server closes, and its links with it): nothing more.
    presence.linkDropped();
    presence.linkRestored();
    expect(calls).toEqual(["down"]);
    expect(beats()).toBe(again);
  });

  it("answers a peer that hears itself again with a heartbeat at once: the peer may hold its outbox until it hears this one listen", () => {
    const { presence, beats } = hearingItself();
    presence.heard("peer", false);
    const before = beats();
    presence.heard("peer", true);
    expect(beats()).toBe(before + 1);
    // Only when it comes back: a peer that goes on listening is answered by the ticks.
    presence.heard("peer", true);
    presence.heard("peer", true);
    expect(beats()).toBe(before + 1);
    presence.stop();
  });

  it("tells when a link of a peer that listened drops, and waits for it to listen again, at most a timeout", async () => {
    const { presence } = hearingItself();
    presence.heard("peer", false, undefined, true); // starting up: not heard listening yet, nothing to tell
    presence.heard("peer", true);
    presence.heard("peer", false); // stalled a while: what it misses comes late, not never
    presence.heard("peer", true);
    expect(calls).toEqual([]);
    presence.heard("peer", false, undefined, true);
    presence.heard("peer", false, undefined, true);
    expect(calls).toEqual(["deaf peer"]);
    // Waited for from now, although this server has heard itself for long.
    await vi.advanceTimersByTimeAsync(times.timeout / 2);
    presence.awaitListeners();
    presence.heard("peer", false);
    expect(calls).toEqual(["deaf peer"]);
    presence.heard("peer", true);
    expect(calls).toEqual(["deaf peer", "listeners"]);
    // Deaf again, and never back: the wait ends a timeout after it began.
    presence.heard("peer", false, undefined, true);
    presence.awaitListeners();
    const beat = async () => {
      await vi.advanceTimersByTimeAsync(times.heartbeatInterval);
      presence.heard("me", false);
      presence.heard("peer", false);
    };
    for (let waited = times.heartbeatInterval; waited < times.timeout; waited += times.heartbeatInterval) await beat();
    expect(calls).toEqual(["deaf peer", "listeners", "deaf peer"]);
    await beat();
    expect(calls).toEqual(["deaf peer", "listeners", "deaf peer", "listeners"]);
    presence.stop();
  });

  it("keeps counting toward asking for its subscriptions again while its links drop and come back unheard", async () => {
    const presence = await downAndAwaiting();
    await vi.advanceTimersByTimeAsync(times.timeout + times.heartbeatInterval);
    expect(calls).toEqual(["unheard"]);
    // A subscriber that fails to reconnect over and over: it must not hold the outbox for ever.
    presence.linkDropped();
    presence.linkRestored();
    await vi.advanceTimersByTimeAsync(times.timeout);
    expect(calls).toEqual(["unheard", "listeners"]);
    presence.stop();
  });

  it("judges a silent peer by its own heartbeats published past the peer's deadline, not by when it read them", () => {
    // No timer runs here: the clock jumps as it does for a server whose event loop stalls.
    vi.setSystemTime(0);
    const presence = new Presence("me", times, events);
    presence.heard("me", true, 0);
    presence.heard("peer", true); // its deadline: 300
    // It published a heartbeat at 200, then stalled until 650, before reading it: the peer's
    // heartbeats of the stall (it paused too, and beat again at 260) wait behind it, unread.
    vi.setSystemTime(650);
    presence.heard("me", true, 200);
    expect(calls).toEqual([]);
    presence.heard("peer", true); // its deadline: 950
    expect(presence.isAlive("peer")).toBe(true);
    // A heartbeat of its own published past the deadline, with no word from the peer before it: gone.
    vi.setSystemTime(1_000);
    presence.heard("me", true, 960);
    expect(calls).toEqual(["gone peer"]);
  });

  it("answers a server that has just started with a heartbeat at once, and tells when every peer had time to announce itself", async () => {
    const beats: boolean[] = [];
    events.publishHeartbeat = (listening) => (beats.push(listening), Promise.resolve(1));
    const presence = new Presence("me", times, events);
    presence.start();
    presence.heard("me", false);
    const announced = vi.fn();
    void presence.peersAnnounced().then(announced);
    expect(beats).toEqual([false, true]); // its first, and the one that says it hears itself now

    presence.heard("old", true); // a peer that was there before: its tick, nothing to answer
    presence.heard("new", false); // a peer that has just started and does not hear itself yet
    expect(beats).toEqual([false, true, true]);
    expect([...presence.peerIds()]).toEqual(["old", "new"]);

    await vi.advanceTimersByTimeAsync(times.heartbeatInterval - 1);
    expect(announced).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(announced).toHaveBeenCalled();
    await expect(presence.peersAnnounced()).resolves.toBeUndefined();
    presence.stop();
  });
});
