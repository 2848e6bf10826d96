import { afterEach, describe, expect, it, vi } from "vitest";
import type { BackplaneLinkEvents } from "../../src/lifetime/backplane.js";
import { decodeBackplaneMessage, encodeBackplaneMessage, type BackplaneMessage } from "../../src/lifetime/backplane-messages.js";
import { ScaleOutLifetimeManager } from "../../src/lifetime/scale-out-lifetime-manager.js";
import { silentLogger } from "../../src/logger.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { MemoryBackplane } from "../support/memory-backplane.js";
import { waitFor } from "../support/wait.js";

/** A MemoryBackplane that reports its links as a Redis one does (see Backplane.watchLinks). */
class WatchedBackplane extends MemoryBackplane {
  links: BackplaneLinkEvents | undefined;
  watchLinks(events: BackplaneLinkEvents): () => void {
    this.links = events;
    return () => void (this.links = undefined);
  }
}

describe("a server whose own link to the backplane drops", () => {
  let manager: ScaleOutLifetimeManager | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await manager?.close();
    manager = undefined;
  });

  /** Starts the server's hub on `backplane`; returns what its peer "peer" is asked. */
  async function startManager(backplane: WatchedBackplane): Promise<BackplaneMessage[]> {
    manager = new ScaleOutLifetimeManager({
      hubName: "Hub",
      backplane,
      protocols: [jsonHubProtocol],
      logger: silentLogger,
      clientResultTimeout: 5_000,
      settings: { heartbeatInterval: 20, serverTimeout: 1_000 },
    });
    const asked: BackplaneMessage[] = [];
    await backplane.subscribe("Hub:server:peer", (payload) => void asked.push(decodeBackplaneMessage(payload)));
    return asked;
  }

  it("asks its peers for what it missed once it hears again, also when the drop came before it first heard itself", async () => {
    const backplane = new WatchedBackplane();
    // Its own heartbeats reach nobody: it has not heard itself yet.
    backplane.deaf = true;
    const asked = await startManager(backplane);
    /** A heartbeat of server "peer", which had handed the backplane its messages up to number 7. */
    const peerBeats = async () => {
      const deaf = backplane.deaf;
      backplane.deaf = false;
      await backplane.publish("Hub:presence", encodeBackplaneMessage({ kind: "alive", origin: "peer", listening: true, sentAt: Date.now(), seq: 7 }));
      backplane.deaf = deaf;
    };
    await peerBeats();
    await waitFor(() => manager!.peers.count === 1, "the peer to be heard");
    expect(manager!.peers.connected).toBe(false);

    backplane.links!.dropped({ partial: false, unordered: false, since: Date.now() });
    backplane.deaf = false; // its link is back: it hears its heartbeats from now on
    backplane.links!.restored();
    await waitFor(() => manager!.peers.connected, "the server to hear itself");
    await peerBeats();
    await waitFor(() => asked.length > 0, "the peer to be asked for what the server missed");
    expect(asked[0]).toMatchObject({ kind: "resend", after: 7 });
  });

  it("asks, after one of several links dropped, from the heartbeat heard an interval before the last, once its links are back", async () => {
    const backplane = new WatchedBackplane();
    const asked = await startManager(backplane);
    const peerBeats = (seq: number) =>
      backplane.publish("Hub:presence", encodeBackplaneMessage({ kind: "alive", origin: "peer", listening: true, sentAt: Date.now(), seq }));
    await waitFor(() => manager!.peers.connected, "the server to hear itself");
    vi.useFakeTimers({ toFake: ["Date"] });
    await peerBeats(7);
    vi.setSystemTime(Date.now() + 20);
    await peerBeats(9);
    await waitFor(() => manager!.peers.count === 1, "the peer to be heard");

    // A shard's link: a message of the peer's numbered 8 may still have been on its way there.
    backplane.links!.dropped({ partial: true, unordered: true, since: Date.now() });
    expect(manager!.peers.connected).toBe(true); // its heartbeats come on another
    backplane.links!.restored();
    await waitFor(() => asked.length > 0, "the peer to be asked for what the server missed");
    expect(asked[0]).toMatchObject({ kind: "resend", after: 7 });
  });

  /**
   * A moved slot: the peer's sends 2001 to 2100 came on `Hub:all`, then its shard handed the
   * slot on; the peer's later sends went to the new owner, where this server did not listen yet,
   * and its heartbeats, through another shard, named them (up to 5000) before the move was found.
   */
  async function movedSlot(backplane: WatchedBackplane, sends = { first: 2001, last: 2100 }) {
    const asked = await startManager(backplane);
    const peerBeats = (seq: number) =>
      backplane.publish("Hub:presence", encodeBackplaneMessage({ kind: "alive", origin: "peer", listening: true, sentAt: Date.now(), seq }));
    await waitFor(() => manager!.peers.connected, "the server to hear itself");
    vi.useFakeTimers({ toFake: ["Date"] });
    await peerBeats(1000);
    for (let seq = sends.first; seq <= sends.last; seq++) {
      const send = { kind: "send", origin: "peer", target: { kind: "all" }, payloads: { json: '{"type":1,"target":"tick","arguments":[]}\u001e' }, seq } as const;
      await backplane.publish("Hub:all", encodeBackplaneMessage(send));
    }
    vi.setSystemTime(Date.now() + 100);
    await peerBeats(5000);
    await waitFor(() => manager!.peers.count === 1, "the peer to be heard");
    vi.setSystemTime(Date.now() + 1000);
    return asked;
  }

  it("asks, after a moved slot's channels dropped, for what came on them after the first send it remembers there, whatever heartbeats named since", async () => {
    const backplane = new WatchedBackplane();
    const asked = await movedSlot(backplane);
    backplane.links!.dropped({ partial: true, unordered: true, since: Date.now(), channels: ["Hub:all", "Hub:group:none"] });
    backplane.links!.restored();
    await waitFor(() => asked.length > 0, "the peer to be asked for what the server missed");
    expect(asked[0]).toMatchObject({ kind: "resend", after: 5000, earlier: { after: 2000, channels: ["Hub:all", "Hub:group:none"] } });
  });

  it("asks from the earlier start when a moved slot's channels drop while it already waits for the peer", async () => {
    const backplane = new WatchedBackplane();
    const asked = await movedSlot(backplane);
    backplane.links!.dropped({ partial: true, unordered: true, since: Date.now() });
    backplane.links!.dropped({ partial: true, unordered: true, since: Date.now(), channels: ["Hub:all"] });
    backplane.links!.dropped({ partial: true, unordered: true, since: Date.now(), channels: ["Hub:group:none"] });
    backplane.links!.restored();
    await waitFor(() => asked.length > 0, "the peer to be asked for what the server missed");
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ kind: "resend", after: 5000, earlier: { after: 2000, channels: ["Hub:all"] } });
  });

  it("asks nothing earlier where the sends it had on a moved slot's channels are all past the number its heartbeat named", async () => {
    const backplane = new WatchedBackplane();
    const asked = await movedSlot(backplane, { first: 5001, last: 5100 });
    backplane.links!.dropped({ partial: true, unordered: true, since: Date.now(), channels: ["Hub:all"] });
    backplane.links!.restored();
    await waitFor(() => asked.length > 0, "the peer to be asked for what the server missed");
    expect(asked[0]).toMatchObject({ kind: "resend", after: 5000 });
    expect(asked[0]).not.toHaveProperty("earlier");
  });
});
