import { decode, encode } from "@msgpack/msgpack";
import WebSocket from "ws";
import { BinaryRecordCursor, frameBinaryRecord, lengthPrefixSize, writeLengthPrefix } from "../../src/protocol/binary-framing.js";
import { readControl, readEnvelopes, writeBinaryEnvelope, writeTextEnvelope } from "../../src/protocol/multiplex-frames.js";
import { keepAlive, type LeanClient } from "./lean-client.js";

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

/** How a MessagePack invocation starts before its id: six elements, type 1, no headers. */
const INVOCATION_HEAD = [0x96, 0x01, 0x80];

/** A MessagePack invocation with id `id` (digits, so a fixstr) and `tail`: target, arguments, stream ids. */
function invocationRecord(id: string, tail: Uint8Array): Uint8Array {
  const bodyLength = INVOCATION_HEAD.length + 1 + id.length + tail.length;
  const record = new Uint8Array(lengthPrefixSize(bodyLength) + bodyLength);
  let at = writeLengthPrefix(record, 0, bodyLength);
  for (const byte of INVOCATION_HEAD) record[at++] = byte;
  record[at++] = 0xa0 + id.length;
  for (let i = 0; i < id.length; i++) record[at++] = id.charCodeAt(i);
  record.set(tail, at);
  return record;
}

/**
 * The id of a MessagePack Completion record `[3, {}, "id", ...]` at `[start, end)`, read from
 * its bytes without decoding the result; -1 when the record is something else.
 */
function completionId(bytes: Uint8Array, start: number, end: number): number {
  if ((bytes[start] !== 0x94 && bytes[start] !== 0x95) || bytes[start + 1] !== 0x03 || bytes[start + 2] !== 0x80) return -1;
  const length = bytes[start + 3]! - 0xa0;
  if (length < 1 || length > 15 || start + 4 + length > end) return -1;
  let id = 0;
  for (let i = start + 4; i < start + 4 + length; i++) id = id * 10 + bytes[i]! - 48;
  return id;
}

/**
 * hubwire (the SignalR hub protocol) over WebSocket, JSON or MessagePack, by hand: handshake,
 * invocations with ids, completions matched by id, server invocations of `tick`, a ping now and
 * then. It connects without negotiate (skipNegotiation), as the official client can; or,
 * `multiplexed`, to the multiplexing endpoint, where it opens the bench hub on channel 1 and
 * wraps and unwraps each frame in the channel's envelope (docs/multiplexing.md).
 */
export class HubwireWsClient implements LeanClient {
  private socket!: WebSocket;
  private nextId = 0;
  private readonly pending = new Map<number, () => void>();
  /** The JSON after an echo call's id, the same for every call with the same payload. */
  private echoTail = "";
  /** The same for MessagePack: the bytes after the id. */
  private echoTailBytes = new Uint8Array(0);
  private echoPayload: string | undefined;
  private tickListener: ((sentAt: number) => void) | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly port: number,
    private readonly messagePack: boolean,
    private readonly multiplexed = false,
  ) {}

  connect(): Promise<void> {
    if (this.multiplexed) return this.connectMultiplexed();
    this.socket = new WebSocket(`ws://127.0.0.1:${this.port}/bench`, { perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      this.socket.once("error", reject);
      this.socket.once("open", () => {
        this.socket.send(`{"protocol":"${this.messagePack ? "messagepack" : "json"}","version":1}${RS}`);
      });
      this.socket.once("message", () => {
        // The handshake reply; everything after it is hub messages.
        this.socket.on("message", (data: Buffer, isBinary) => (isBinary ? this.onBinary(data) : this.onText(data.toString())));
        this.pinger = keepAlive(() => this.send(this.messagePack ? frameBinaryRecord(encode([6])) : `{"type":6}${RS}`));
        resolve();
      });
    });
  }

  /** Negotiates a multiplexed connection, opens /bench on channel 1 and completes its handshake. */
  private async connectMultiplexed(): Promise<void> {
    const format = this.messagePack ? "?transferFormat=Binary" : "";
    const response = await fetch(`http://127.0.0.1:${this.port}/hubs/negotiate${format || "?"}${format ? "&" : ""}negotiateVersion=1`, { method: "POST" });
    const { connectionToken } = (await response.json()) as { connectionToken: string };
    this.socket = new WebSocket(`ws://127.0.0.1:${this.port}/hubs${format || "?"}${format ? "&" : ""}id=${connectionToken}`, { perMessageDeflate: false });
    const wrap = (channel: number, payload: string) => (this.messagePack ? writeBinaryEnvelope(channel, payload) : writeTextEnvelope(channel, payload));
    await new Promise<void>((resolve, reject) => {
      this.socket.once("error", reject);
      this.socket.once("open", () => {
        this.socket.send(wrap(0, JSON.stringify({ type: "open", channel: 1, path: "/bench", format: this.messagePack ? "Binary" : "Text" })));
      });
      let handshook = false;
      this.socket.on("message", (data: Buffer, isBinary) =>
        readEnvelopes(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString(), (channel, payload) => {
          if (channel === 0) {
            // The hub is open: its handshake may go (a ping is all else that comes here).
            if (readControl(payload)?.type === "opened") this.socket.send(wrap(1, `{"protocol":"${this.messagePack ? "messagepack" : "json"}","version":1}${RS}`));
            return;
          }
          if (!handshook) {
            handshook = true; // the handshake reply; everything after it is hub messages
            this.pinger = keepAlive(() => this.socket.send(wrap(0, "")));
            return resolve();
          }
          if (typeof payload === "string") this.onText(payload);
          else this.onBinary(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
        }),
      );
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
    const records = new BinaryRecordCursor(data, null);
    while (records.next()) {
      // A completion is matched by its id alone, as in onText.
      const id = completionId(data, records.start, records.end);
      if (id >= 0) {
        this.complete(id);
        continue;
      }
      const message = decode(data.subarray(records.start, records.end)) as unknown[];
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
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (!this.multiplexed) return this.socket.send(data);
    this.socket.send(typeof data === "string" && !this.messagePack ? writeTextEnvelope(1, data) : writeBinaryEnvelope(1, data));
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
    if (payload !== this.echoPayload) {
      this.echoPayload = payload;
      this.echoTail = invocationTail("Echo", [payload]);
      this.echoTailBytes = encode(["Echo", [payload], []]).subarray(1); // the elements, without the array's head
    }
    const id = this.track(done);
    this.send(this.messagePack ? invocationRecord(id, this.echoTailBytes) : `{"type":1,"invocationId":"${id}",${this.echoTail}`);
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
