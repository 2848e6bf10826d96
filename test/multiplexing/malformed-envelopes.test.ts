import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { HubMultiplexer, silentLogger } from "../../client/index.js";
import { readControl, readEnvelopes, writeBinaryEnvelope, writeTextEnvelope, type ControlMessage } from "../../src/protocol/multiplex-frames.js";
import { waitFor, within } from "../support/wait.js";
import { lifecycle, startMuxServer, type MuxServer } from "./mux-hubs.js";

/** A client of the multiplexing endpoint that speaks the envelope by hand, to break its rules. */
async function rawClient(mux: MuxServer, binary: boolean) {
  const query = binary ? "?transferFormat=Binary" : "";
  const negotiated = await fetch(`${mux.url}/hubs/negotiate?negotiateVersion=1${binary ? "&transferFormat=Binary" : ""}`, {
    method: "POST",
    headers: { Authorization: "Bearer mallory" },
  });
  const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
  const socket = new WebSocket(`${mux.url.replace("http", "ws")}/hubs${query}${query ? "&" : "?"}id=${connectionToken}`, { headers: { Authorization: "Bearer mallory" } });
  const controls: ControlMessage[] = [];
  const data: Array<{ channel: number; payload: string }> = [];
  socket.on("message", (raw: Buffer, isBinary: boolean) => {
    readEnvelopes(isBinary ? new Uint8Array(raw) : raw.toString("utf8"), (channel, payload) => {
      if (channel === 0) {
        const control = readControl(payload);
        if (control) controls.push(control);
      } else data.push({ channel, payload: typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8") });
    });
  });
  const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const control = (message: ControlMessage) => JSON.stringify(message);
  return {
    socket,
    controls,
    data,
    closed,
    send: (frame: string | Uint8Array) => socket.send(frame),
    /** Opens `path` on `channel` and completes the JSON handshake. */
    async open(channel: number, path: string) {
      const open = control({ type: "open", channel, path, format: "Text" });
      socket.send(binary ? writeBinaryEnvelope(0, open) : writeTextEnvelope(0, open));
      await waitFor(() => controls.some((c) => c.type === "opened" && c.channel === channel), `channel ${channel} to open`);
      const handshake = '{"protocol":"json","version":1}\u001e';
      socket.send(binary ? writeBinaryEnvelope(channel, handshake) : writeTextEnvelope(channel, handshake));
      await waitFor(() => data.some((d) => d.channel === channel), "the handshake's answer");
    },
  };
}

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
