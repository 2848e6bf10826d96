import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";

// A peer that never answers the server's close frame must not hold its socket open: the
// server drops it after its closeTimeout. Driven over a raw TCP socket, since every WebSocket
// library answers a close frame by itself.

@HubClass()
class LeavingHub extends Hub {
  @HubMethod("Leave")
  leave(): void {
    this.context.abort();
  }
}

/** A client's text frame: FIN, opcode 1, masked as clients must. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error("a short frame only");
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

let server: HubServer | undefined;
let socket: Socket | undefined;
afterEach(async () => {
  socket?.destroy();
  await server?.close();
});

describe("a WebSocket whose peer never answers the close handshake", () => {
  it("is dropped by the server after its closeTimeout", async () => {
    server = new HubServer({ logger: silentLogger, closeTimeout: 500 });
    server.mapHub("/leaving", LeavingHub);
    const { port } = await server.listen();
    const peer = connect(port, "127.0.0.1");
    socket = peer;
    let received = Buffer.alloc(0);
    let next = -1; // where the next server frame starts in `received`, once the 101 has come
    let closeFrameAt: number | undefined;
    const ended = new Promise<number>((resolve) => peer.on("close", () => resolve(performance.now())));
    const upgraded = new Promise<void>((resolve) => {
      peer.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (next === -1) {
          const head = received.indexOf("\r\n\r\n");
          if (head === -1) return;
          expect(received.subarray(0, 12).toString()).toBe("HTTP/1.1 101");
          next = head + 4;
          resolve();
        }
        // The server's frames (unmasked, short): a close frame (opcode 8) is noted, never answered.
        while (received.length >= next + 2) {
          const length = received[next + 1]! & 0x7f;
          const header = length === 126 ? 4 : 2;
          const size = length === 126 ? received.readUInt16BE(next + 2) : length;
          if (received.length < next + header + size) return;
          if ((received[next]! & 0x0f) === 0x8) closeFrameAt ??= performance.now();
          next += header + size;
        }
      });
    });
    peer.write(
      `GET /leaving HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await upgraded;
    peer.write(maskedTextFrame(`{"protocol":"json","version":1}\u001e`));
    peer.write(maskedTextFrame(`{"type":1,"target":"Leave","arguments":[]}\u001e`));
    const endedAt = await ended;
    expect(closeFrameAt).toBeDefined();
    // Not at once: the server waited for an answer that never came. Its timer runs 500 ms from
    // before the close frame went out; the margin is for the frame's way to this handler.
    expect(endedAt - closeFrameAt!).toBeGreaterThanOrEqual(250);
  });
});
