import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { writeBinaryEnvelope, writeTextEnvelope } from "../../src/protocol/multiplex-frames.js";
import { waitFor, within } from "../support/wait.js";
import { lifecycle, startMuxServer, type MuxServer } from "./mux-hubs.js";
import { rawClient } from "./raw-mux-client.js";

describe("a multiplexed connection that breaks the envelope's rules", () => {
  let mux: MuxServer;
  let bystander: HubMultiplexer;

  beforeEach(async () => {
    lifecycle.length = 0;
    mux = await startMuxServer();
    bystander = new HubMultiplexer(`${mux.url}/hubs`, { accessTokenFactory: () => "olivia", logger: silentLogger });
    await bystander.hub("/news").start();
  });

  afterEach(async () => {
    await bystander.stop();
    await mux.server.close();
  });

  const faults = [
    { name: "a text frame that is no envelope", binary: false, frame: "hello", code: "ERR_MUX_MALFORMED_FRAME" },
    { name: "an envelope longer than its frame", binary: false, frame: "1,99;{}", code: "ERR_MUX_MALFORMED_FRAME" },
    { name: "a control message that is not JSON", binary: false, frame: "0,3;{x}", code: "ERR_MUX_MALFORMED_FRAME" },
    { name: "a control message of the server's", binary: false, frame: writeTextEnvelope(0, '{"type":"opened","channel":9,"connectionId":"x"}'), code: "ERR_MUX_MALFORMED_FRAME" },
    { name: "data on a channel never opened", binary: false, frame: writeTextEnvelope(7, "{}\u001e"), code: "ERR_MUX_UNKNOWN_CHANNEL" },
    { name: "a truncated binary header", binary: true, frame: new Uint8Array([0x85]), code: "ERR_MUX_MALFORMED_FRAME" },
    // As a long-polling POST that is not UTF-8 comes to a text connection.
    { name: "a binary frame on a text connection", binary: false, frame: writeBinaryEnvelope(1, new TextEncoder().encode('{"type":6}\u001e')), code: "ERR_MUX_MALFORMED_FRAME" },
    { name: "binary data on a channel never opened", binary: true, frame: writeBinaryEnvelope(3, new Uint8Array([1])), code: "ERR_MUX_UNKNOWN_CHANNEL" },
    { name: "a channel opened twice", binary: false, frame: writeTextEnvelope(0, '{"type":"open","channel":1,"path":"/game"}'), code: "ERR_MUX_MALFORMED_FRAME" },
  ];

  it.each(faults)("$name: the client is told the code, its connection and hubs end, and nobody else's", async ({ binary, frame, code }) => {
    const client = await rawClient(mux, binary);
    await client.open(1, "/news");
    await waitFor(() => lifecycle.includes("news connected mallory"), "the hub to start");
    client.send(frame);
    expect(await within(client.closed, "the server to close the connection")).toBe(1000);
    expect(client.controls.at(-1)).toMatchObject({ type: "error", code });
    await waitFor(() => lifecycle.includes("news disconnected mallory"), "the hub's onDisconnected");
    expect(lifecycle).not.toContain("news disconnected olivia");
    expect(await bystander.hub("/game").start().then(() => "opened")).toBe("opened");
  });

  it("takes a hub's handshake sent before its open was answered, but not a flood", async () => {
    const client = await rawClient(mux, false);
    const open = (channel: number) => writeTextEnvelope(0, `{"type":"open","channel":${channel},"path":"/news"}`);
    const handshake = (channel: number) => writeTextEnvelope(channel, '{"protocol":"json","version":1}\u001e');
    client.send(open(1) + handshake(1)); // one frame: the handshake is held until the hub is open
    await waitFor(() => client.data.some((d) => d.channel === 1 && d.payload === "{}\u001e"), "the handshake's answer");
    client.send(open(2) + handshake(2).repeat(9));
    expect(await within(client.closed, "the server to close the connection")).toBe(1000);
    expect(client.controls.at(-1)).toMatchObject({ type: "error", code: "ERR_MUX_MALFORMED_FRAME" });
  });

  it("refuses a binary hub on a text connection, alone", async () => {
    const client = await rawClient(mux, false);
    client.send(writeTextEnvelope(0, '{"type":"open","channel":1,"path":"/news","format":"Binary"}'));
    await waitFor(() => client.controls.length > 0, "the answer to the open");
    expect(client.controls[0]).toMatchObject({ type: "refused", channel: 1, code: "ERR_MUX_FORMAT", statusCode: 400 });
    await client.open(2, "/news"); // the connection goes on
    client.socket.close();
  });

  it("drops late data for a channel that was closed, without a fault", async () => {
    const client = await rawClient(mux, false);
    await client.open(1, "/news");
    client.send(writeTextEnvelope(0, '{"type":"close","channel":1}'));
    client.send(writeTextEnvelope(1, '{"type":6}\u001e'));
    await waitFor(() => lifecycle.includes("news disconnected mallory"), "the hub's onDisconnected");
    await client.open(2, "/game"); // the connection still serves
    expect(client.controls.some((c) => c.type === "error")).toBe(false);
    client.socket.close();
  });
});
