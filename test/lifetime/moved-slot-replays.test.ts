import { afterEach, describe, expect, it } from "vitest";
import type { Backplane, BackplaneLinkEvents } from "../../src/lifetime/backplane.js";
import { decodeBackplaneMessage, encodeBackplaneMessage, type ResendMessage } from "../../src/lifetime/backplane-messages.js";
import { ScaleOutLifetimeManager } from "../../src/lifetime/scale-out-lifetime-manager.js";
import { silentLogger } from "../../src/logger.js";
import type { HubMessage } from "../../src/protocol/messages.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { loopbackConnection, type LoopbackConnection } from "../support/loopback-connection.js";
import { MemoryBackplane } from "../support/memory-backplane.js";
import { waitFor } from "../support/wait.js";

/**
 * One server's link to a MemoryBackplane that servers share: it reports its drops as a Redis
 * Cluster's does, and stops hearing the `unheard` channels, as a server whose channel's slot
 * went to a shard where it does not listen yet.
 */
class ServerLink implements Backplane {
  links: BackplaneLinkEvents | undefined;
  readonly unheard = new Set<string>();
  private readonly left = new Set<string>();

  constructor(private readonly shared: MemoryBackplane) {}

  publish(channel: string, payload: Uint8Array): Promise<number> {
    return this.shared.publish(channel, payload);
  }

  subscribe(channel: string, onMessage: (payload: Uint8Array) => void): Promise<void> {
    this.left.delete(channel);
    return this.shared.subscribe(channel, (payload) => {
      if (!this.unheard.has(channel) && !this.left.has(channel)) onMessage(payload);
    });
  }

  async unsubscribe(channel: string): Promise<void> {
    this.left.add(channel); // the shared one would end every server's subscription
  }

  watchLinks(events: BackplaneLinkEvents): () => void {
    this.links = events;
    return () => void (this.links = undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const ticks = (client: LoopbackConnection) =>
  client
    .messages()
    .filter((m): m is Extract<HubMessage, { type: 1 }> => m.type === 1)
    .map((m) => m.arguments[0] as number);

describe("a server whose group's slot moved, and whose peer's heartbeats named the sends it missed meanwhile", () => {
  const managers: ScaleOutLifetimeManager[] = [];
  afterEach(async () => {
    await Promise.all(managers.map((manager) => manager.close()));
    managers.length = 0;
  });

  function startServer(link: ServerLink): ScaleOutLifetimeManager {
    const manager = new ScaleOutLifetimeManager({
      hubName: "Hub",
      backplane: link,
      protocols: [jsonHubProtocol],
      logger: silentLogger,
      clientResultTimeout: 5_000,
      settings: { heartbeatInterval: 20, serverTimeout: 1_000 },
    });
    managers.push(manager);
    return manager;
  }

  it("gets them again, once each and in order, and nothing sent there before it listened", async () => {
    const shared = new MemoryBackplane();
    const [linkA, linkB] = [new ServerLink(shared), new ServerLink(shared)];
    const [a, b] = [startServer(linkA), startServer(linkB)];
    await waitFor(() => a.peers.count === 1 && b.peers.count === 1, "the servers to hear each other");
    // Before B's client joins: not for it, though A keeps it to send again.
    await a.send({ kind: "groups", names: ["g"] }, "tick", [0]);
    const client = loopbackConnection();
    await b.onConnected(client.connection);
    await b.addToGroup(client.connection.connectionId, "g");
    // What A sends to the group (its number and origin) and the numbers its heartbeats name, as the backplane carries them.
    const sent: Array<{ origin: string; seq: number }> = [];
    const beats = new Map<string, number[]>();
    await shared.subscribe("Hub:group:g", (payload) => {
      const message = decodeBackplaneMessage(payload);
      if (message.kind === "send") sent.push({ origin: message.origin, seq: message.seq! });
    });
    await shared.subscribe("Hub:presence", (payload) => {
      const message = decodeBackplaneMessage(payload);
      if (message.kind === "alive" && message.seq !== undefined) beats.set(message.origin, [...(beats.get(message.origin) ?? []), message.seq]);
    });
    const sendTicks = async (from: number, to: number) => {
      for (let n = from; n <= to; n++) await a.send({ kind: "groups", names: ["g"] }, "tick", [n]);
    };

    await sendTicks(1, 10);
    await waitFor(() => ticks(client).length === 10, "the first ticks");
    // The group's slot moves: B hears nothing on it until it subscribes on the new owner, while
    // A's heartbeats, on another shard, name what A sends there meanwhile.
    linkB.unheard.add("Hub:group:g");
    await sendTicks(11, 30);
    await waitFor(() => sent.length === 30, "A's sends since B listened");
    const { origin, seq: last } = sent[29]!;
    // Three of them: the first was heard a heartbeat interval (the drop's lookback) before now.
    await waitFor(() => (beats.get(origin) ?? []).filter((seq) => seq >= last).length >= 3, "A's heartbeats naming its last send");
    linkB.links!.dropped({ partial: true, unordered: true, since: Date.now(), channels: ["Hub:group:g"] });
    linkB.unheard.delete("Hub:group:g");
    linkB.links!.restored();
    await sendTicks(31, 40);
    await waitFor(() => ticks(client).includes(40), "the last tick");
    expect(ticks(client)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it("asks again when its request found the peer deaf on its own channel, whose slot moved too; the peer answers each request once", async () => {
    const shared = new MemoryBackplane();
    const [linkA, linkB] = [new ServerLink(shared), new ServerLink(shared)];
    const [a, b] = [startServer(linkA), startServer(linkB)];
    await waitFor(() => a.peers.count === 1 && b.peers.count === 1, "the servers to hear each other");
    const client = loopbackConnection();
    await b.onConnected(client.connection);
    await b.addToGroup(client.connection.connectionId, "g");
    const sendTicks = async (from: number, to: number) => {
      for (let n = from; n <= to; n++) await a.send({ kind: "groups", names: ["g"] }, "tick", [n]);
    };
    // Each server's id, from its heartbeats.
    const ids = new Set<string>();
    await shared.subscribe("Hub:presence", (payload) => {
      const message = decodeBackplaneMessage(payload);
      if (message.kind === "alive") ids.add(message.origin);
    });
    await waitFor(() => ids.size === 2, "both servers' heartbeats");
    let idOfA = "";
    await shared.subscribe("Hub:group:g", (payload) => {
      const message = decodeBackplaneMessage(payload);
      if (message.kind === "send") idOfA = message.origin;
    });
    await sendTicks(1, 10);
    await waitFor(() => ticks(client).length === 10 && idOfA !== "", "the first ticks");
    const idOfB = [...ids].find((id) => id !== idOfA)!;
    const requests: ResendMessage[] = [];
    await shared.subscribe(`Hub:server:${idOfA}`, (payload) => {
      const message = decodeBackplaneMessage(payload);
      if (message.kind === "resend") requests.push(message);
    });
    const answers: number[] = [];
    await shared.subscribe(`Hub:server:${idOfB}`, (payload) => {
      const message = decodeBackplaneMessage(payload);
      if (message.kind === "resent" && message.part === 0) answers.push(message.requestId);
    });

    // The group's slot and that of A's own channel move: B misses ticks, and A the request for them.
    linkB.unheard.add("Hub:group:g");
    linkA.unheard.add(`Hub:server:${idOfA}`);
    await sendTicks(11, 30);
    linkB.links!.dropped({ partial: true, unordered: true, since: Date.now() - 1_000, channels: ["Hub:group:g"] });
    linkB.unheard.delete("Hub:group:g");
    linkB.links!.restored();
    await waitFor(() => requests.length >= 2, "B's request and a second copy of it, both unheard by A");
    // A finds the move of its own channel and subscribes there.
    linkA.links!.dropped({ partial: true, unordered: true, since: Date.now(), channels: [`Hub:server:${idOfA}`] });
    linkA.unheard.delete(`Hub:server:${idOfA}`);
    linkA.links!.restored();
    await sendTicks(31, 40);
    await waitFor(() => ticks(client).includes(40), "the last tick");
    expect(ticks(client)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(answers).toEqual([requests[0]!.requestId]);

    // A copy of that request heard now is not answered again; a later request is.
    const { requestId } = requests[0]!;
    const ask = (id: number) => shared.publish(`Hub:server:${idOfA}`, encodeBackplaneMessage({ kind: "resend", origin: idOfB, requestId: id, after: 0 }));
    await ask(requestId);
    await ask(requestId + 100);
    await waitFor(() => answers.length === 2, "the answer to the later request");
    expect(answers).toEqual([requestId, requestId + 100]);
    expect(ticks(client)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});
