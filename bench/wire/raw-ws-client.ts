import WebSocket from "ws";
import type { LeanClient } from "./lean-client.js";

/** The bare `ws` target: echoes come back in order, so a queue of callbacks matches them. */
export class RawWsClient implements LeanClient {
  private socket!: WebSocket;
  private readonly pending: Array<() => void> = [];
  private tickListener: ((sentAt: number) => void) | undefined;
  private joined: (() => void) | undefined;

  constructor(private readonly port: number) {}

  connect(): Promise<void> {
    this.socket = new WebSocket(`ws://127.0.0.1:${this.port}/`, { perMessageDeflate: false });
    this.socket.on("message", (data: Buffer) => {
      if (data[0] === 0x5b /* [ */) return this.tickListener?.((JSON.parse(data.toString()) as [string, number])[1]);
      if (this.joined && data.toString() === "joined") {
        const joined = this.joined;
        this.joined = undefined;
        return joined();
      }
      this.pending.shift()?.();
    });
    return new Promise((resolve, reject) => this.socket.once("open", () => resolve()).once("error", reject));
  }

  call(payload: string, done: () => void): void {
    this.pending.push(done);
    this.socket.send(payload);
  }

  onTick(listener: (sentAt: number) => void): void {
    this.tickListener = listener;
  }

  join(group: string): Promise<void> {
    return new Promise((resolve) => {
      this.joined = resolve;
      this.socket.send(`j${group}`);
    });
  }

  close(): void {
    this.socket.terminate();
  }
}
