import { describe, expect, it } from "vitest";
import { IncomingConnections, type LifetimeHandoff } from "../../src/lifetime/connection-handoff.js";
import { invocationOf } from "../../src/lifetime/in-memory-lifetime-manager.js";
import { copyWindow, SendSequences } from "../../src/lifetime/send-sequences.js";
import type { SerializedHubMessage } from "../../src/protocol/serialized-message.js";

/** A send that says which it is, so a test can list what is delivered. */
const send = (name: string) => invocationOf("message", [name]);
const names = (messages: SerializedHubMessage[]) => messages.map(({ message }) => ("arguments" in message ? message.arguments[0] : undefined));

describe("a connection moving here: what it is sent meanwhile reaches it once", () => {
  it("delivers what the old server had not: its own sends past its last number, others' sends not in its record", () => {
    const incoming = new IncomingConnections().add("c1", { userId: "ada", groups: ["room"] });
    incoming.captured.push(
      { origin: "old", channel: "hub:all", seq: 7, message: send("old 7, before the cut") },
      { origin: "peer", channel: "hub:group:room", seq: 3, message: send("peer 3, delivered there") },
      { origin: "old", channel: "hub:all", seq: 9, message: send("old 9, after the cut") },
      { origin: "peer", channel: "hub:group:room", seq: 4, message: send("peer 4, not delivered there") },
      { origin: "peer", channel: "hub:user:ada", seq: 2, message: send("peer 2 on another channel") },
      { origin: "third", channel: "hub:all", seq: 50, message: send("third 50, below the floor") },
      { origin: "third", channel: "hub:all", seq: 80, message: send("third 80") },
      { origin: "legacy", channel: "hub:all", seq: undefined, message: send("unnumbered") },
    );
    const handoff: LifetimeHandoff = {
      origin: "old",
      lastSeq: 8,
      groups: ["room"],
      delivered: [
        ["peer", "hub:group:room", -Infinity, [1, 2, 3]],
        ["third", "hub:all", 60, [61, 70]],
      ],
    };
    expect(names(incoming.undelivered(handoff))).toEqual([
      "old 9, after the cut",
      "peer 4, not delivered there",
      "peer 2 on another channel",
      "third 80",
      "unnumbered",
    ]);
  });

  it("takes the old server's record from SendSequences for the connection's channels only", () => {
    const sequences = new SendSequences();
    sequences.accept("peer", "hub:all", 1);
    sequences.accept("peer", "hub:all", 2);
    sequences.accept("peer", "hub:group:other", 5);
    expect(sequences.records(["hub:all", "hub:group:room"])).toEqual([["peer", "hub:all", 2 - copyWindow, [1, 2]]]);
  });

  it("applies the group changes heard meanwhile that the old server had not applied over its groups, in order", () => {
    const incoming = new IncomingConnections().add("c1", { groups: ["a", "b"] });
    const from = (seq: number) => ({ origin: "peer", channel: "hub:connection:c1", seq });
    incoming.groupChanged("remove", "a", from(1));
    incoming.groupChanged("add", "c", from(2));
    incoming.groupChanged("add", "a", from(3));
    incoming.groupChanged("remove", "b", from(4));
    // The old server had applied the first two, then one of its own (d), and a removal of c
    // made by its own hub after the second: applying that one again would undo the removal.
    const handoff: LifetimeHandoff = { origin: "old", lastSeq: 0, groups: ["b", "d"], delivered: [["peer", "hub:connection:c1", -Infinity, [1, 2]]] };
    expect([...incoming.groupsAfter(handoff)].sort()).toEqual(["a", "d"]);
    // Every group it was in since the plan stays subscribed until it arrives.
    expect([...incoming.subscribed].sort()).toEqual(["a", "b", "c"]);
  });

  it("captures only sends that reach it, and stops at its bound", () => {
    const connections = new IncomingConnections();
    const incoming = connections.add("c1", { userId: "ada", groups: ["room"] });
    connections.capture({ kind: "all", except: ["c1"] }, send("not to it"), "peer", "hub:all", 1);
    connections.capture({ kind: "groups", names: ["other", "room"] }, send("to its group"), "peer", "hub:all", 2);
    connections.capture({ kind: "users", ids: ["bob"] }, send("to another user"), "peer", "hub:all", 3);
    connections.capture({ kind: "connections", ids: ["c1"] }, send("to it"), "peer", "hub:connection:c1", 4);
    expect(incoming.captured.map(({ message }) => message.message)).toEqual([send("to its group").message, send("to it").message]);
    for (let seq = 5; seq < 10_010; seq++) connections.capture({ kind: "all" }, send("flood"), "peer", "hub:all", seq);
    expect(incoming.overflowed).toBe(true);
    expect(incoming.captured).toHaveLength(10_000);
  });
});

describe("a connection kept by its standby for crash recovery", () => {
  it("forgets at each checkpoint what the holder had delivered, and takes the checkpoint's groups", () => {
    const connections = new IncomingConnections();
    const kept = connections.add("c1", { groups: ["a"] }, 3);
    connections.capture({ kind: "all" }, send("holder 4"), "holder", "hub:all", 4);
    connections.capture({ kind: "all" }, send("peer 1"), "peer", "hub:all", 1);
    kept.groupChanged("add", "b", { origin: "peer", channel: "hub:connection:c1", seq: 3 });
    connections.capture({ kind: "all" }, send("holder 6"), "holder", "hub:all", 6);
    connections.capture({ kind: "all" }, send("peer 2"), "peer", "hub:all", 2);
    expect(kept.overflowed).toBe(true); // three kept, a fourth refused
    kept.rebase({ origin: "holder", lastSeq: 5, groups: ["a", "c"], delivered: [["peer", "hub:all", -Infinity, [1]], ["peer", "hub:connection:c1", -Infinity, [3]]] });
    expect(names(kept.captured.map(({ message }) => message))).toEqual(["holder 6"]);
    // Room again below the bound: keeping goes on.
    expect(kept.overflowed).toBe(false);
    connections.capture({ kind: "groups", names: ["c"] }, send("to c"), "peer", "hub:group:c", 3);
    expect(names(kept.captured.map(({ message }) => message))).toEqual(["holder 6", "to c"]);
    // The changes heard before the checkpoint are in it: none is applied again over it.
    expect([...kept.groupsAfter({ origin: "holder", lastSeq: 6, groups: ["a", "c"], delivered: [] })].sort()).toEqual(["a", "c"]);
    expect([...kept.subscribed].sort()).toEqual(["a", "b", "c"]);
  });

  it("applies again over a checkpoint a group change it does not count, until one does", () => {
    const connections = new IncomingConnections();
    const kept = connections.add("c1", { groups: ["a"] });
    // Made by the holder just before it applied this change, the checkpoint comes after it.
    kept.groupChanged("add", "late", { origin: "peer", channel: "hub:connection:c1", seq: 7 });
    kept.rebase({ origin: "holder", lastSeq: 1, groups: ["a"], delivered: [] });
    expect([...kept.groups].sort()).toEqual(["a", "late"]);
    expect(kept.isIn({ kind: "groups", names: ["late"] })).toBe(true);
    // The next checkpoint counts it, and has the holder's own later change (it left "late").
    kept.rebase({ origin: "holder", lastSeq: 2, groups: ["a"], delivered: [["peer", "hub:connection:c1", -Infinity, [7]]] });
    expect([...kept.groups]).toEqual(["a"]);
    expect(kept.isIn({ kind: "groups", names: ["late"] })).toBe(false);
  });
});
