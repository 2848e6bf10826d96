import { HttpError } from "../errors.js";
import { refusalStatus } from "../../src/protocol/upgrade-refusal.js";
import { withQuery } from "../http.js";
import type { ClientTransport, TransferFormat, TransportContext } from "./transport.js";

type SocketLike = {
  binaryType: string;
  readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
};
type SocketConstructor = new (url: string, protocols?: string[], options?: { headers: Record<string, string> }) => SocketLike;

/** The browser's WebSocket, or `ws` on Node (imported only there, so bundles stay free of it). */
async function socketConstructor(): Promise<{ Socket: SocketConstructor; canSetHeaders: boolean }> {
  const native = (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (native) return { Socket: native, canSetHeaders: false };
  const ws = "ws"; // a variable, so bundlers leave this import alone
  const module = (await import(ws)) as { default: SocketConstructor };
  return { Socket: module.default, canSetHeaders: true };
}

/** WebSockets: full duplex; text frames for JSON, binary for MessagePack. */
export class WebSocketTransport implements ClientTransport {
  readonly kind = "WebSockets" as const;
  private socket: SocketLike | undefined;
  private stopping = false;

  constructor(private readonly context: TransportContext) {}

  async connect(url: string, format: TransferFormat): Promise<void> {
    const { Socket, canSetHeaders } = await socketConstructor();
    const token = await this.context.http.token();
    // Stopped while the token came (a stop() during start()): no socket may outlive the stop.
    if (this.stopping) throw new Error("The WebSocket was stopped before it connected.");
    let target = url.replace(/^http/, "ws");
    // Browsers cannot set headers on a WebSocket: the token goes in the query, as the server allows.
    if (token && !canSetHeaders) target = withQuery(target, "access_token", token);
    const headers = { ...this.context.http.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
    const socket = canSetHeaders ? new Socket(target, undefined, { headers }) : new Socket(target);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    // Set before the socket opens: a server may speak first (a resumed connection's Sequence), in
    // the same packet as its upgrade reply.
    socket.onmessage = (event) => {
      const data = event.data;
      this.context.events.onData(typeof data === "string" ? data : toBytes(data, format));
    };
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = (event) => {
        // Only `ws` says why (browsers hide it): a refused upgrade carries its status.
        const status = /Unexpected server response: (\d+)/.exec(String((event as { message?: unknown } | undefined)?.message))?.[1];
        if (status) return reject(new HttpError("WebSocket upgrade refused", Number(status)));
        reject(new Error(`WebSocket failed to connect to ${url.split("?")[0]}.`));
      };
      socket.onclose = (event) => reject(new Error(`WebSocket closed with status code: ${event.code} (${event.reason || "no reason given"}).`));
    });
    socket.onerror = null;
    socket.onclose = (event) => {
      const clean = this.stopping || (event.wasClean && event.code === 1000);
      this.context.events.onClose(clean ? undefined : closeError(event));
    };
  }

  async send(data: string | Uint8Array): Promise<void> {
    if (!this.socket || this.socket.readyState !== 1) throw new Error("WebSocket is not in the OPEN state");
    this.socket.send(data);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.socket?.close(1000);
  }
}

/**
 * Why a socket that had opened closed. An upgrade refused in band (asked for by a resuming
 * client: protocol/upgrade-refusal.ts) carries its HTTP status in the close code.
 */
function closeError(event: { code: number; reason: string }): Error {
  const status = refusalStatus(event.code);
  if (status !== undefined) return new HttpError(`WebSocket upgrade refused (${event.reason})`, status);
  return new Error(`WebSocket closed with status code: ${event.code} (${event.reason || "no reason given"}).`);
}

function toBytes(data: unknown, _format: TransferFormat): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0);
}
