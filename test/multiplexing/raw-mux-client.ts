import WebSocket from "ws";
import { readControl, readEnvelopes, writeBinaryEnvelope, writeTextEnvelope, type ControlMessage } from "../../src/protocol/multiplex-frames.js";
import { waitFor } from "../support/wait.js";
import type { MuxServer } from "./mux-hubs.js";

/** A client of the multiplexing endpoint that speaks the envelope by hand, to break its rules. */
export async function rawClient(mux: MuxServer, binary: boolean, user = "mallory") {
  const query = binary ? "?transferFormat=Binary" : "";
  const negotiated = await fetch(`${mux.url}/hubs/negotiate?negotiateVersion=1${binary ? "&transferFormat=Binary" : ""}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user}` },
  });
  const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
  const socket = new WebSocket(`${mux.url.replace("http", "ws")}/hubs${query}${query ? "&" : "?"}id=${connectionToken}`, { headers: { Authorization: `Bearer ${user}` } });
  const controls: ControlMessage[] = [];
  const data: Array<{ channel: number; payload: string }> = [];
  let pings = 0;
  socket.on("message", (raw: Buffer, isBinary: boolean) => {
    readEnvelopes(isBinary ? new Uint8Array(raw) : raw.toString("utf8"), (channel, payload) => {
      if (channel === 0) {
        const control = readControl(payload);
        if (control) controls.push(control);
        else pings++;
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
    /** Pings the server sent. */
    get pings() {
      return pings;
    },
    /** Sends a ping. */
    ping: () => socket.send(binary ? writeBinaryEnvelope(0, "") : writeTextEnvelope(0, "")),
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
