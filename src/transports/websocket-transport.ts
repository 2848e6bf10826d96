import { WebSocket } from "ws";
import { HubwireError } from "../errors.js";
import type { Transport } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";

/**
 * A connection's WebSocket: text frames become strings, binary frames bytes; a string is sent as a
 * text frame and a Uint8Array as a binary one (JSON needs text frames, MessagePack binary).
 */
export class WebSocketTransport implements Transport {
  readonly name = "WebSockets" as const;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly socket: WebSocket,
    readonly connection: TransportConnection,
    private readonly closeTimeoutMs: number,
  ) {
    // Shared listeners find their transport on the socket: no closures per connection.
    (socket as SocketWithTransport)[transportKey] = this;
    socket.on("message", onMessage);
    socket.on("close", onClose);
    // Errors (a bad frame, an oversized payload) are followed by a close event, which reports them.
    socket.on("error", ignore);
  }

  /** @internal */
  closed(code: number): void {
    clearTimeout(this.closeTimer);
    // 1000 (normal) and 1005 (no status: how the SignalR client stops) are clean ends.
    const clean = code === 1000 || code === 1005;
    this.connection.transportClosed(
      clean ? undefined : new HubwireError("ERR_TRANSPORT_LOST", `WebSocket closed with status code: ${code}.`),
    );
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  send(data: string | Uint8Array): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (typeof data === "string") this.socket.send(textBytes(data), textFrame);
    else this.socket.send(data, binaryFrame);
  }

  close(): void {
    if (this.socket.readyState >= WebSocket.CLOSING) return;
    this.socket.close(1000);
    // A peer that never answers the close handshake must not hold the connection open.
    this.closeTimer = setTimeout(() => this.socket.terminate(), this.closeTimeoutMs);
    this.closeTimer.unref();
  }

  abort(): void {
    this.socket.terminate();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

const transportKey = Symbol("hubwire:transport");
type SocketWithTransport = WebSocket & { [transportKey]: WebSocketTransport };

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  // Binary arrives as a plain Uint8Array view, not a Buffer: what protocols decode from it
  // (MessagePack bin values) then reaches hub methods as the same type a browser would send.
  (this as SocketWithTransport)[transportKey].connection.receive(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString("utf8"));
}

function onClose(this: WebSocket, code: number): void {
  (this as SocketWithTransport)[transportKey].closed(code);
}

function ignore(): void {}

const textFrame = { binary: false };
const binaryFrame = { binary: true };

// Text is handed to ws as bytes: a string would be encoded inside the socket write, on a slower
// path, and once per recipient. A broadcast passes the same string to every socket in a row, so
// remembering the last one encodes it once.
let lastText = "";
let lastBytes = Buffer.alloc(0);

function textBytes(text: string): Buffer {
  if (text.length > 65_536) return Buffer.from(text, "utf8"); // not worth holding on to
  if (text !== lastText) {
    lastBytes = Buffer.from(text, "utf8");
    lastText = text;
  }
  return lastBytes;
}
