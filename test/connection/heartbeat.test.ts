import { afterEach, describe, expect, it, vi } from "vitest";
import { Heartbeat, type HeartbeatSubscriber } from "../../src/connection/heartbeat.js";
import { HubConnection } from "../../src/connection/hub-connection.js";
import { TransportConnection } from "../../src/transports/transport-connection.js";

// The heartbeat checks the collection its owner keeps (a hub's sessions), not one of its own, so
// that an idle connection is an entry in one collection fewer.

const unexpected = (_subscriber: HeartbeatSubscriber, error: unknown): never => {
  throw new Error(`no subscriber was expected to throw; one threw ${String(error)}`);
};

describe("Heartbeat", () => {
  afterEach(() => void vi.useRealTimers());

  it("beats every subscriber of its owner's collection while it holds any, and stops once it is empty", () => {
    vi.useFakeTimers();
    const beats: Array<[string, number]> = [];
    const subscriber = (name: string): HeartbeatSubscriber => ({ onHeartbeat: (now) => beats.push([name, now]) });
    const owned = new Map<string, HeartbeatSubscriber>();
    const heartbeat = new Heartbeat(owned, 100, unexpected);

    vi.advanceTimersByTime(300);
    expect(beats).toEqual([]); // no subscriber told of yet: no timer

    owned.set("a", subscriber("a"));
    heartbeat.added();
    owned.set("b", subscriber("b"));
    heartbeat.added(); // one timer, whatever the number of subscribers
    vi.advanceTimersByTime(100);
    expect(beats.map(([name]) => name)).toEqual(["a", "b"]);
    expect(beats[0]![1]).toBe(heartbeat.now);

    owned.delete("a");
    heartbeat.removed();
    vi.advanceTimersByTime(100);
    expect(beats.map(([name]) => name)).toEqual(["a", "b", "b"]);

    owned.delete("b");
    heartbeat.removed();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("lets a subscriber leave the collection while it is beaten (a connection that times out)", () => {
    vi.useFakeTimers();
    const owned = new Map<string, HeartbeatSubscriber>();
    const heartbeat = new Heartbeat(owned, 100, unexpected);
    const seen: string[] = [];
    owned.set("a", { onHeartbeat: () => (seen.push("a"), owned.delete("a"), heartbeat.removed()) });
    owned.set("b", { onHeartbeat: () => void seen.push("b") });
    heartbeat.added();
    vi.advanceTimersByTime(200);
    expect(seen).toEqual(["a", "b", "b"]);
    heartbeat.stop();
  });

  it("goes on checking the others when a subscriber throws, and tells its owner which one", () => {
    vi.useFakeTimers();
    const owned = new Map<string, HeartbeatSubscriber>();
    const threw: Array<[HeartbeatSubscriber, unknown]> = [];
    const heartbeat = new Heartbeat(owned, 100, (subscriber, error) => {
      threw.push([subscriber, error]);
      throw new Error("and its owner could not end it either");
    });
    const broken = new Error("a broken check");
    const seen: string[] = [];
    const faulty: HeartbeatSubscriber = {
      onHeartbeat: () => {
        seen.push("a");
        throw broken;
      },
    };
    owned.set("a", faulty);
    owned.set("b", { onHeartbeat: () => void seen.push("b") });
    heartbeat.added();
    // A throw out of the beat would escape from the timer (vitest's fake timers rethrow it here).
    vi.advanceTimersByTime(200);
    expect(seen).toEqual(["a", "b", "a", "b"]);
    expect(threw).toEqual([
      [faulty, broken],
      [faulty, broken],
    ]);
    heartbeat.stop();
  });

  it("times a connection made while it was stopped from now, not from when it stopped", () => {
    vi.useFakeTimers();
    const owned = new Map<string, HeartbeatSubscriber>();
    const heartbeat = new Heartbeat(owned, 100, unexpected);
    vi.advanceTimersByTime(60_000); // a server without connections for a minute
    const timeouts: string[] = [];
    const connection = new HubConnection(
      new TransportConnection("id", "token"),
      { keepAliveIntervalMs: 15_000, clientTimeoutMs: 30_000, handshakeTimeoutMs: 15_000, clientResultTimeoutMs: 30_000 },
      heartbeat,
      { onData: () => {}, onClose: () => {}, onTooLarge: () => {}, onTimeout: (_connection, reason) => void timeouts.push(reason) },
    );
    owned.set("a", connection);
    heartbeat.added();
    vi.advanceTimersByTime(100); // its first beat, before its handshake came
    expect(timeouts).toEqual([]);
    vi.advanceTimersByTime(14_800);
    expect(timeouts).toEqual([]);
    vi.advanceTimersByTime(100); // 15 s after it was made
    expect(timeouts).toEqual(["handshake"]);
    heartbeat.stop();
  });
});
