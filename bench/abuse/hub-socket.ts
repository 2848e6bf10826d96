import type { Socket } from "node:net";
import WebSocket from "ws";

export const RS = "\u001e";

export interface WireMessage {
  type: number;
  invocationId?: string;
  error?: string;
  result?: unknown;
}

/** A WebSocket that speaks the JSON hub protocol by hand: an attacker, or the canary. */
export class HubSocket {
  /** Told of every message after the handshake reply. */
  onMessage: (message: WireMessage) => void = () => {};
  readonly closed: Promise<void>;
  private handshaken = false;

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      for (const record of data.toString().split(RS)) {
        if (record.length === 0) continue;
        if (!this.handshaken) {
          this.handshaken = true;
          continue;
        }
        this.onMessage(JSON.parse(record) as WireMessage);
      }
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /**
   * Connects to a hub (`http://…/abuse`) and completes the JSON handshake, as `user` when given
   * (its bearer token); rejects with the server's error when it refuses the handshake.
   */
  static async open(url: string, user?: string): Promise<HubSocket> {
    const address = url.replace(/^http/, "ws") + (user === undefined ? "" : `?access_token=${encodeURIComponent(user)}`);
    const socket = new WebSocket(address, { perMessageDeflate: false });
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const client = new HubSocket(socket);
    const reply = new Promise<string>((resolve) => socket.once("message", (data: Buffer) => resolve(data.toString())));
    socket.send(`{"protocol":"json","version":1}${RS}`);
    const { error } = JSON.parse((await reply).split(RS)[0]!) as { error?: string };
    if (error !== undefined) throw new Error(`handshake refused: ${error}`);
    return client;
  }

  /** The TCP socket under the WebSocket. */
  get tcp(): Socket {
    return (this.socket as unknown as { _socket: Socket })._socket;
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /** Bytes this client has queued and the network has not taken. */
  get buffered(): number {
    return this.socket.bufferedAmount + this.tcp.writableLength;
  }

  /**
   * Resolves true once fewer than `bytes` wait to be sent, or false when the server has taken
   * nothing for `quietMs`: it stopped reading this client.
   */
  async writable(bytes: number, quietMs: number): Promise<boolean> {
    while (this.buffered >= bytes) {
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), quietMs);
        this.tcp.once("drain", () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) return false;
    }
    return true;
  }

  /** Stops reading what the server sends (the kernel's buffers fill, then the server's). */
  stopReading(): void {
    this.tcp.pause();
  }

  close(): void {
    this.socket.terminate();
  }
}

/** An invocation in the JSON protocol. */
export function invocation(id: string | undefined, target: string, args: unknown[], streamIds?: string[]): string {
  return JSON.stringify({ type: 1, ...(id === undefined ? {} : { invocationId: id }), target, arguments: args, ...(streamIds ? { streamIds } : {}) }) + RS;
}
