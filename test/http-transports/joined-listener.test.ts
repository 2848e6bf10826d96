import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { JoinedListener } from "../../src/transports/joined-listener.js";

describe("JoinedListener", () => {
  const calls: string[] = [];
  function theirs(this: { name: string }, value: unknown): void {
    calls.push(`theirs ${this.name} ${String(value)}`);
  }
  function own(this: { name: string }, value: unknown): void {
    calls.push(`own ${this.name} ${String(value)}`);
  }
  const named = (name: string) => Object.assign(new EventEmitter(), { name });

  it("joins an event's one listener into one function, in the order asked, called on the emitter", () => {
    calls.length = 0;
    const after = new JoinedListener(own, "after");
    const before = new JoinedListener(own, "before");
    const a = named("a");
    const b = named("b");
    a.on("data", theirs);
    b.on("error", theirs);
    after.attach(a, "data");
    before.attach(b, "error");
    expect(a.rawListeners("data")).toHaveLength(1);
    expect(a.listeners("data")).toEqual([theirs]);
    a.emit("data", 1);
    b.emit("error", 2);
    expect(calls).toEqual(["theirs a 1", "own a 1", "own b 2", "theirs b 2"]);
  });

  it("around: calls its own alone, given theirs to call as it sees fit (none where it joined none)", () => {
    calls.length = 0;
    function around(this: { name: string }, value: unknown, joined?: (this: unknown, value: unknown) => void): void {
      calls.push(`around ${this.name} ${String(value)} ${joined ? "joined" : "alone"}`);
      joined?.call(this, `${String(value)}a`);
      joined?.call(this, `${String(value)}b`);
    }
    const a = named("a");
    a.on("data", theirs);
    new JoinedListener(around, "around").attach(a, "data");
    expect(a.listeners("data")).toEqual([theirs]);
    a.emit("data", 1);
    const none = named("none");
    new JoinedListener(around, "around").attach(none, "data");
    none.emit("data", 2);
    expect(calls).toEqual(["around a 1 joined", "theirs a 1a", "theirs a 1b", "around none 2 alone"]);
  });

  it("makes one joined function for every emitter whose listener is the same function", () => {
    const joint = new JoinedListener(own, "after");
    const emitters = [named("a"), named("b")];
    for (const emitter of emitters) {
      emitter.on("data", theirs);
      joint.attach(emitter, "data");
    }
    expect(emitters[0]!.rawListeners("data")[0]).toBe(emitters[1]!.rawListeners("data")[0]);
    const other = named("c");
    const another = (): void => void calls.push("another");
    other.on("data", another);
    joint.attach(other, "data");
    expect(other.listeners("data")).toEqual([another]);
  });

  it("goes when the listener it joined is removed by its own function", () => {
    calls.length = 0;
    const emitter = named("a");
    emitter.on("data", theirs);
    new JoinedListener(own, "after").attach(emitter, "data");
    emitter.removeListener("data", theirs);
    expect(emitter.listenerCount("data")).toBe(0);
    emitter.emit("data", 1);
    expect(calls).toEqual([]);
  });

  it("adds its own listener beside others where there is not exactly one plain listener", () => {
    calls.length = 0;
    const none = named("none");
    new JoinedListener(own, "after").attach(none, "data");
    expect(none.rawListeners("data")).toEqual([own]);

    const two = named("two");
    const first = (): void => void calls.push("first");
    two.on("data", first).on("data", theirs);
    new JoinedListener(own, "before").attach(two, "data");
    expect(two.rawListeners("data")).toEqual([own, first, theirs]);

    const once = named("once");
    once.once("data", theirs);
    new JoinedListener(own, "after").attach(once, "data");
    once.emit("data", 1);
    once.emit("data", 2);
    expect(calls).toEqual(["theirs once 1", "own once 1", "own once 2"]);
  });
});
