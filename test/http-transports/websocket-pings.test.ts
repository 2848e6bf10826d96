import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Hub, HubClass, HubServer, silentLogger } from "../../src/index.js";
import { waitFor } from "../support/wait.js";

// The WebSocket transport answers pings itself (not ws's autoPong): every ping gets a pong with
// its data, and the pongs a client leaves unread count against the send buffer's bound.

const ended: Array<{ code?: string } | undefined> = [];

@HubClass()
class QuietHub extends Hub {
  override onDisconnected(error?: Error): void {
    ended.push(error as { code?: string } | undefined);
  }
}

const handshake = `{"protocol":"json","version":1}\u001e`;

/** A client's frame: FIN, `opcode`, masked as clients must. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error("a short frame only");
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

let server: HubServer | undefined;
let peer: Socket | WebSocket | undefined;
afterEach(async () => {
  if (peer instanceof WebSocket) peer.terminate();
  else peer?.destroy();
  await server?.close();
  ended.length = 0;
});

describe("pings on a hub's WebSocket", () => {
  it("are answered with a pong of the same data, before and after the handshake", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/quiet", QuietHub);
    const { url } = await server.listen();
    const client = new WebSocket(`${url.replace("http", "ws")}/quiet`);
    peer = client;
    await once(client, "open");
    const pongs: string[] = [];
    client.on("pong", (data: Buffer) => pongs.push(data.toString()));
    client.ping("before");
    await waitFor(() => pongs.length === 1, "the first pong");
    client.send(handshake);
    await once(client, "message");
    client.ping("after");
    client.ping("");
    await waitFor(() => pongs.length === 3, () => `three pongs; got ${JSON.stringify(pongs)}`);
    expect(pongs).toEqual(["before", "after", ""]);
  });

  it("drop a client that pings and never reads once its unread pongs pass the send buffer's bound", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/quiet", QuietHub, { maximumSendBufferSize: 64 * 1024 });
    const { port } = await server.listen();
    const socket = connect(port, "127.0.0.1");
    peer = socket;
    socket.write(
      `GET /quiet HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    socket.write(maskedFrame(0x1, Buffer.from(handshake)));
    // Read until the handshake's answer has come (the 101, then a frame ending in the separator).
    await new Promise<void>((resolve) => {
      let received = "";
      const read = (chunk: Buffer): void => {
        received += chunk.toString("latin1");
        if (!received.endsWith("\u001e")) return;
        socket.off("data", read);
        socket.pause(); // and never reads again
        resolve();
      };
      socket.on("data", read);
    });
    // Pings as fast as the server takes them, until it drops the client (at most some 26 MB of them).
    const ping = maskedFrame(0x9, Buffer.alloc(125, 0x70));
    let failed = false;
    socket.on("error", () => (failed = true));
    for (let i = 0; i < 200_000 && ended.length === 0 && !failed; i++) {
      if (!socket.write(ping)) await new Promise((resolve) => socket.once("drain", resolve).once("close", resolve));
    }
    await waitFor(() => ended.length === 1, "the client to be dropped");
    expect(ended[0]?.code).toBe("ERR_SEND_BUFFER_FULL");
    expect(server.connectionCount).toBe(0);
  });
});
