import { decode, encode } from "@msgpack/msgpack";
import WebSocket from "ws";
import { frameBinaryRecord, splitBinaryRecords } from "../../src/protocol/binary-framing.js";
import { keepAliveMs, type LeanClient } from "./lean-client.js";

const RS = "\u001e";
/** How hubwire starts a Completion record (the ids this loader sends need no escapes). */
const completionHead = `{"type":3,"invocationId":"`;

/** An invocation's JSON after its id, record separator included. */
function invocationTail(target: string, args: unknown[]): string {
  return `"target":${JSON.stringify(target)},"arguments":${JSON.stringify(args)}}${RS}`;
}

/** The decimal id that starts at `start` (ids this loader sends are digits only). */
function readId(text: string, start: number): number {
  let id = 0;
  for (let i = start, digit = text.charCodeAt(i) - 48; digit >= 0 && digit <= 9; digit = text.charCodeAt(++i) - 48) id = id * 10 + digit;
  return id;
}

/**
 * hubwire (the SignalR hub protocol) over WebSocket, JSON or MessagePack, by hand: handshake,
 * invocations with ids, completions matched by id, server invocations of `tick`, a ping now and
 * then. It connects without negotiate (skipNegotiation), as the official client can.
 */
export class HubwireWsClient implements LeanClient {
  private socket!: WebSocket;
  private nextId = 0;
  private readonly pending = new Map<number, () => void>();
  /** The JSON after an echo call's id, the same for every call with the same payload. */
  private echoTail = "";
  private echoPayload: string | undefined;
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
        this.complete(readId(text, start + completionHead.length));
        continue;
      }
      const message = JSON.parse(text.slice(start, end)) as { type: number; invocationId?: string; target?: string; arguments?: unknown[] };
      if (message.type === 3) this.complete(Number(message.invocationId));
      else if (message.type === 1 && message.target === "tick") this.tickListener?.(message.arguments![0] as number);
    }
  }

  private onBinary(data: Buffer): void {
    for (const record of splitBinaryRecords(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), null)) {
      const message = decode(record) as unknown[];
      if (message[0] === 3) this.complete(Number(message[2]));
      else if (message[0] === 1 && message[3] === "tick") this.tickListener?.((message[4] as number[])[0]!);
    }
  }

  private complete(id: number): void {
    const done = this.pending.get(id);
    this.pending.delete(id);
    done?.();
  }

  private send(data: string | Uint8Array): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(data);
  }

  private invoke(target: string, args: unknown[], done: () => void): void {
    const id = this.track(done);
    this.send(
      this.messagePack
        ? frameBinaryRecord(encode([1, {}, id, target, args]))
        : `{"type":1,"invocationId":"${id}",${invocationTail(target, args)}`,
    );
  }

  /** Registers a call's callback under a new id, which the server's completion will carry. */
  private track(done: () => void): string {
    const id = this.nextId++;
    this.pending.set(id, done);
    return String(id);
  }

  call(payload: string, done: () => void): void {
    if (this.messagePack) return this.invoke("Echo", [payload], done);
    if (payload !== this.echoPayload) {
      this.echoPayload = payload;
      this.echoTail = invocationTail("Echo", [payload]);
    }
    this.send(`{"type":1,"invocationId":"${this.track(done)}",${this.echoTail}`);
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
