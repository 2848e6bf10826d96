import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger, type HubConnection } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { messagePack } from "../../client/msgpack.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { writeBinaryEnvelope, writeTextEnvelope } from "../../src/protocol/multiplex-frames.js";
import { textEnvelopeFrame } from "../../src/transports/websocket-frames.js";
import { waitFor } from "../support/wait.js";
import { startMuxServer, type MuxServer } from "./mux-hubs.js";
import { rawClient } from "./raw-mux-client.js";

// A WebSocket writes each envelope straight into its frame (frame header, envelope header and
// payload in one buffer). These tests read such frames at every length where the frame header
// or the envelope header changes form, with channels whose header takes more than one digit or
// varint byte, and where a binary payload stops being copied (16 KiB); and frames that hold
// several envelopes, which a JSON hub reads in place, and replies written as bytes and as text.

/** `[center - reach, center + reach]` in steps of 1. */
const around = (center: number, reach: number) => Array.from({ length: 2 * reach + 1 }, (_, i) => center - reach + i);

describe("multiplexing envelopes in WebSocket frames", () => {
  let mux: MuxServer;
  const multiplexers: HubMultiplexer[] = [];

  beforeEach(async () => {
    mux = await startMuxServer();
  });

  afterEach(async () => {
    await Promise.all(multiplexers.splice(0).map((m) => m.stop()));
    await mux.server.close();
  });

  it.each([
    { connection: "text", binary: false },
    { connection: "binary", binary: true },
  ])("frames a JSON hub's replies of every header form on a $connection connection, on a channel of several digits", async ({ binary }) => {
    const client = await rawClient(mux, binary);
    const channel = 300; // three digits; a varint of two bytes
    await client.open(channel, "/news");
    // The reply's frame holds `300,<length>;` (text) or two varints (binary), then the completion.
    const counts = [...around(100, 30), ...around(65_480, 30)];
    for (const unit of ["a", "€", "😀"]) {
      for (const count of unit === "a" ? counts : [1, 40, 21_845, 21_846]) {
        const id = `${unit}${count}`;
        const call = `{"type":1,"invocationId":"${id}","target":"Repeat","arguments":["${unit}",${count}]}\u001e`;
        const received = client.data.length;
        client.send(binary ? writeBinaryEnvelope(channel, call) : writeTextEnvelope(channel, call));
        await waitFor(() => client.data.length > received, `the reply of ${id}`);
        const reply = client.data[received]!;
        expect(reply.channel).toBe(channel);
        expect(reply.payload).toBe(`{"type":3,"invocationId":"${id}","result":"${unit.repeat(count)}"}\u001e`);
      }
    }
    client.socket.close();
  });

  it("frames a text payload given as its ASCII bytes (a JSON hub's replies written as bytes) exactly as the same text", () => {
    for (const channel of [1, 9, 10, 300, 123_456]) {
      for (const length of [0, 1, ...around(115, 15), ...around(65_520, 20)]) {
        const text = Array.from({ length }, (_, i) => String.fromCharCode(0x20 + (i % 95))).join("");
        expect(textEnvelopeFrame(channel, Buffer.from(text, "latin1")).equals(textEnvelopeFrame(channel, text))).toBe(true);
      }
    }
  });

  it("reads several envelopes of one frame in order, each hub's calls in place, whatever comes between", async () => {
    const client = await rawClient(mux, false);
    await client.open(1, "/news");
    await client.open(2, "/news");
    const call = (id: string, arg: string) => `{"type":1,"invocationId":"${id}","target":"Repeat","arguments":["${arg}",2]}\u001e`;
    // One frame: two calls of hub 1 in one envelope, a ping on the connection, a call of hub 2, another of hub 1.
    client.send(writeTextEnvelope(1, call("a", "x") + call("b", "y")) + writeTextEnvelope(0, "") + writeTextEnvelope(2, call("c", "z")) + writeTextEnvelope(1, call("d", "w")));
    // Each hub's replies to one read go in one envelope, sent when the read ends.
    const replies = () => client.data.flatMap((d) => d.payload.split("\u001e").filter((r) => r.startsWith('{"type":3')).map((r) => [d.channel, r]));
    await waitFor(() => replies().length === 4, "the four replies");
    const reply = (id: string, result: string) => `{"type":3,"invocationId":"${id}","result":"${result}"}`;
    expect(replies()).toEqual([
      [1, reply("a", "xx")],
      [1, reply("b", "yy")],
      [1, reply("d", "ww")],
      [2, reply("c", "zz")],
    ]);
    client.socket.close();
  });

  it("frames replies of one read, some written as bytes and some as text outside ASCII, in one envelope its client reads", async () => {
    const client = await rawClient(mux, false);
    await client.open(1, "/news");
    const call = (id: string, arg: string) => `{"type":1,"invocationId":"${id}","target":"Repeat","arguments":["${arg}",2]}\u001e`;
    client.send(writeTextEnvelope(1, call("a", "x") + call("b", "é") + call("c", "😀") + call("d", "y")));
    const replies = () => client.data.flatMap((d) => d.payload.split("\u001e").filter((r) => r.startsWith('{"type":3')));
    await waitFor(() => replies().length === 4, "the four replies");
    expect(replies().map((r) => JSON.parse(r) as unknown)).toEqual([
      { type: 3, invocationId: "a", result: "xx" },
      { type: 3, invocationId: "b", result: "éé" },
      { type: 3, invocationId: "c", result: "😀😀" },
      { type: 3, invocationId: "d", result: "yy" },
    ]);
    client.socket.close();
  });

  it("frames a MessagePack hub's replies across every header form and the copy limit", async () => {
    const hubs = new HubMultiplexer(`${mux.url}/hubs`, { protocol: messagePack, accessTokenFactory: () => "ida", logger: silentLogger });
    multiplexers.push(hubs);
    const hub = hubs.hub("/game");
    await hub.start();
    for (const length of [0, 1, ...around(120, 6), ...around(16_384, 6), ...around(65_530, 6), 1_000_000]) {
      const bytes = (await hub.invoke("Bytes", length)) as Uint8Array;
      expect(bytes.byteLength).toBe(length);
      expect(bytes.every((value, i) => value === (i & 0xff))).toBe(true);
    }
  });

  it("hands one broadcast's frame to every connection with the hub on the same channel, and the next broadcast a new one", async () => {
    const clients: HubConnection[] = [];
    for (const [user, protocol] of [["ann", jsonHubProtocol], ["ben", jsonHubProtocol], ["cy", messagePack], ["dee", messagePack]] as const) {
      const hubs = new HubMultiplexer(`${mux.url}/hubs`, { protocol, accessTokenFactory: () => user, logger: silentLogger });
      multiplexers.push(hubs);
      clients.push(hubs.hub("/news"));
    }
    await Promise.all(clients.map((hub) => hub.start()));
    const heard = clients.map(() => [] as string[]);
    clients.forEach((hub, i) => hub.on("said", (_hub: string, text: string) => void heard[i]!.push(text)));
    const sent: Array<[string, number]> = [["first", 1], ["second", 1], ["ü", 70_000], ["first", 1]];
    for (const [unit, count] of sent) await clients[0]!.invoke("Shout", unit, count);
    await waitFor(() => heard.every((texts) => texts.length === sent.length), () => `four broadcasts each, got ${heard.map((t) => t.length)}`);
    for (const texts of heard) expect(texts).toEqual(sent.map(([unit, count]) => unit.repeat(count)));
  });
});
