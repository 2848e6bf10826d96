import WebSocket from "ws";
import type { LeanClient } from "./lean-client.js";

/**
 * Socket.IO 4 over Engine.IO 4, WebSocket only, by hand: `0{…}` open, `40` connect, `2`/`3`
 * ping-pong, `42<id>[event,…]` events with acks answered as `43<id>[…]`.
 */
export class SocketIoClient implements LeanClient {
  private socket!: WebSocket;
  private nextAck = 0;
  private readonly acks = new Map<number, () => void>();
  private tickListener: ((sentAt: number) => void) | undefined;
  /** An echo event's JSON, the same for every call with the same payload. */
  private echoEvent = "";
  private echoPayload: string | undefined;

  constructor(private readonly port: number) {}

  connect(): Promise<void> {
    this.socket = new WebSocket(`ws://127.0.0.1:${this.port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      this.socket.once("error", reject);
      this.socket.on("message", (data: Buffer) => {
        const text = data.toString();
        switch (text.charCodeAt(0)) {
          case 0x30 /* 0: open */:
            this.socket.send("40");
            return;
          case 0x32 /* 2: ping */:
            this.socket.send("3");
            return;
          case 0x34 /* 4: message */:
            return this.onMessage(text, resolve);
        }
      });
    });
  }

  private onMessage(text: string, connected: () => void): void {
    const type = text.charCodeAt(1);
    if (type === 0x30 /* 40: namespace connected */) return connected();
    if (type === 0x33 /* 43: ack */) {
      const bracket = text.indexOf("[");
      const id = Number(text.slice(2, bracket));
      const done = this.acks.get(id);
      this.acks.delete(id);
      return done?.();
    }
    if (type === 0x32 /* 42: event */ && this.tickListener) {
      const [, sentAt] = JSON.parse(text.slice(2)) as [string, number];
      this.tickListener(sentAt);
    }
  }

  call(payload: string, done: () => void): void {
    if (payload !== this.echoPayload) {
      this.echoPayload = payload;
      this.echoEvent = JSON.stringify(["echo", payload]);
    }
    const id = this.nextAck++;
    this.acks.set(id, done);
    this.socket.send(`42${id}${this.echoEvent}`);
  }

  onTick(listener: (sentAt: number) => void): void {
    this.tickListener = listener;
  }

  join(group: string): Promise<void> {
    return new Promise((resolve) => {
      const id = this.nextAck++;
      this.acks.set(id, resolve);
      this.socket.send(`42${id}${JSON.stringify(["join", group])}`);
    });
  }

  close(): void {
    this.socket.terminate();
  }
}

