import { decode, encode } from "@msgpack/msgpack";
import WebSocket from "ws";
import { frameBinaryRecord, splitBinaryRecords } from "../../src/protocol/binary-framing.js";
import { keepAliveMs, type LeanClient } from "./lean-client.js";

const RS = "\u001e";
/** How hubwire starts a Completion record (the ids this loader sends need no escapes). */
const completionHead = `{"type":3,"invocationId":"`;

/**
 * hubwire (the SignalR hub protocol) over WebSocket, JSON or MessagePack, by hand: handshake,
 * invocations with ids, completions matched by id, server invocations of `tick`, a ping now and
 * then. It connects without negotiate (skipNegotiation), as the official client can.
 */
export class HubwireWsClient implements LeanClient {
  private socket!: WebSocket;
  private nextId = 0;
  private readonly pending = new Map<string, () => void>();
  private tickListener: ((sentAt: number) => void) | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly port: number,
    private readonly messagePack: boolean,
  ) {}

  connect(): Promise<void> {
    this.socket = new WebSocket(`ws://127.0.0.1:${this.port}/bench`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      this.socket.once("error", reject);
      this.socket.once("open", () => {
        this.socket.send(`{"protocol":"${this.messagePack ? "messagepack" : "json"}","version":1}${RS}`);
      });
      this.socket.once("message", () => {
        // The handshake reply; everything after it is hub messages.
        this.socket.on("message", (data: Buffer, isBinary) => (isBinary ? this.onBinary(data) : this.onText(data.toString())));
        this.pinger = setInterval(() => this.send(this.messagePack ? frameBinaryRecord(encode([6])) : `{"type":6}${RS}`), keepAliveMs);
        resolve();
      });
    });
  }

  private onText(text: string): void {
    for (let start = 0, end = text.indexOf(RS); end !== -1; start = end + 1, end = text.indexOf(RS, start)) {
      // A completion is matched by its id alone, read without parsing the result: the Socket.IO
      // loader reads its acks the same way.
      if (text.startsWith(completionHead, start)) {
        const idStart = start + completionHead.length;
        this.complete(text.slice(idStart, text.indexOf('"', idStart)));
        continue;
      }
      const message = JSON.parse(text.slice(start, end)) as { type: number; invocationId?: string; target?: string; arguments?: unknown[] };
      if (message.type === 3) this.complete(message.invocationId!);
      else if (message.type === 1 && message.target === "tick") this.tickListener?.(message.arguments![0] as number);
    }
  }

  private onBinary(data: Buffer): void {
    for (const record of splitBinaryRecords(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), null)) {
      const message = decode(record) as unknown[];
      if (message[0] === 3) this.complete(message[2] as string);
      else if (message[0] === 1 && message[3] === "tick") this.tickListener?.((message[4] as number[])[0]!);
    }
  }

  private complete(id: string): void {
    const done = this.pending.get(id);
    this.pending.delete(id);
    done?.();
  }

  private send(data: string | Uint8Array): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(data);
  }

  private invoke(target: string, args: unknown[], done: () => void): void {
    const id = String(this.nextId++);
    this.pending.set(id, done);
    this.send(
      this.messagePack
        ? frameBinaryRecord(encode([1, {}, id, target, args]))
        : `{"type":1,"invocationId":"${id}","target":"${target}","arguments":${JSON.stringify(args)}}${RS}`,
    );
  }

  call(payload: string, done: () => void): void {
    this.invoke("Echo", [payload], done);
  }

  onTick(listener: (sentAt: number) => void): void {
    this.tickListener = listener;
  }

  join(group: string): Promise<void> {
    return new Promise((resolve) => this.invoke("Join", [group], resolve));
  }

  close(): void {
    clearInterval(this.pinger);
    this.socket.terminate();
  }
}
