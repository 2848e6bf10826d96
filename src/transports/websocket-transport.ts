import type { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import { WebSocket } from "ws";
import { HubwireError } from "../errors.js";
import { byteLengthOf } from "../protocol/typed-array-access.js";
import { JoinedListener } from "./joined-listener.js";
import type { RecordFraming } from "../protocol/hub-protocol.js";
import { FrameReader, holdsWholeFrames } from "./websocket-pieces.js";
import type { Transport } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";
import {
  BINARY_OPCODE,
  binaryEnvelopeFrame,
  binaryEnvelopeFrameHeader,
  binaryFrame,
  bytesFrame,
  COPY_LIMIT,
  type DataOpcode,
  frameHeader,
  textEnvelopeFrame,
  TEXT_OPCODE,
  textFrame,
} from "./websocket-frames.js";

/**
 * A connection's WebSocket: text frames become strings, binary frames bytes; a string is sent as a
 * text frame and a Uint8Array as a binary one (JSON needs text frames, MessagePack binary), or as
 * a text frame by `sendUtf8` when it is text already encoded.
 * `ws` reads the socket and handles control frames and the close handshake (pings are answered
 * here, see onReceiverPing, with pongs `ws` writes); data frames are written to the upgraded
 * socket directly (see websocket-frames.ts), each whole in one write, so they never interleave
 * with the control frames `ws` writes.
 */
export class WebSocketTransport implements Transport {
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Replaced by a newer transport (stateful reconnect): what this socket still reads is dropped. */
  retired = false;
  /** A read under way has brought a message: the connection was told it started, and will be told it ended. */
  reading = false;

  constructor(
    private readonly socket: WebSocket,
    /** The upgraded connection `socket` runs on. */
    private readonly stream: Duplex,
    readonly connection: TransportConnection,
    /** Its endpoint's, shared by all its sockets (not copied into each). */
    private readonly limits: WebSocketLimits,
  ) {
    // Shared listeners find their transport on the socket: no closures per connection.
    (socket as SocketWithTransport)[transportKey] = this;
    socket.on("message", onMessage);
    socket.on("close", onClose);
    // Errors (a bad frame, an oversized payload) are followed by a close event, which reports them.
    socket.on("error", ignore);
    // Past maxPayload, ws refuses a message from its header, before buffering any of it, and at
    // once closes the socket with 1009 and no reason. Its receiver reports the fault just before
    // that close: listening there first lets the connection say why (a hub sends its Close
    // message with the same error as for a message over maximumReceiveMessageSize).
    const receiver = (socket as unknown as { _receiver?: EventEmitter })._receiver;
    if (receiver) {
      linkToSocket(receiver, socket);
      beforeReceiverError.attach(receiver, "error");
      afterReceiverPing.attach(receiver, "ping");
    }
    // `ws` turns each chunk read from the network into messages synchronously, in its own "data"
    // listener (no compression, so no message waits for an inflate): the first message of a read
    // tells the connection a read has begun, and a listener around ws's tells it where the read
    // ends, and reads a message in pieces where ws would take it whole (see FrameReader). Joined
    // to ws's one listener (see JoinedListener).
    linkToSocket(stream, socket);
    aroundSocketData.attach(stream, "data");
    // Streams waiting for a slow reader are woken when the socket has written what it held.
    stream.on("drain", onDrain);
  }

  get name(): "WebSockets" {
    return "WebSockets";
  }

  /** The largest message `ws` takes (its maxPayload). */
  get maxPayload(): number {
    return this.limits.maxIncomingPayload;
  }

  /** How the hub messages its client sends are delimited, once its connection knows (see FrameReader). */
  get recordFraming(): RecordFraming | undefined {
    return this.connection.transport === this ? this.connection.receiver?.recordFraming : undefined;
  }

  /** ws's receiver of the socket: a stream it ends once it refuses what it reads. */
  get wsReceiver(): { readonly destroyed: boolean } | undefined {
    return (this.socket as unknown as { _receiver?: { destroyed: boolean } })._receiver;
  }

  /** @internal */
  closed(code: number): void {
    clearTimeout(this.closeTimer);
    readers.delete(this);
    if (this.retired || this.connection.transport !== this) return; // replaced by a reconnecting client's new socket
    // 1000 (normal), 1001 (going away: a browser tab closing) and 1005 (no status: how the
    // SignalR client stops) are clean ends.
    if (code === 1000 || code === 1001 || code === 1005) return this.connection.transportClosed();
    // Otherwise a stateful connection may wait for its client to reconnect.
    this.connection.transportLost(new HubwireError("ERR_TRANSPORT_LOST", `WebSocket closed with status code: ${code}.`));
  }

  get bufferedBytes(): number {
    // Data frames are written to the stream directly; `ws` queues nothing of them.
    return this.stream.writableLength;
  }

  send(data: string | Uint8Array, shared?: boolean): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (typeof data === "string") this.stream.write(shared ? sharedTextFrame(data) : textFrame(data));
    else if (shared && data.byteLength <= COPY_LIMIT) this.stream.write(sharedBinaryFrame(data));
    else this.writeBytes(BINARY_OPCODE, data);
  }

  sendUtf8(utf8: Uint8Array): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.writeBytes(TEXT_OPCODE, utf8);
  }

  /** A frame of `bytes`: copied behind its header up to COPY_LIMIT, else header and bytes as they are. */
  private writeBytes(opcode: DataOpcode, bytes: Uint8Array): void {
    const length = byteLengthOf.call(bytes) as number;
    if (length <= COPY_LIMIT) return void this.stream.write(bytesFrame(opcode, bytes, length));
    // Too large to copy: the header and the payload as they are, in one writev.
    this.stream.cork();
    this.stream.write(frameHeader(opcode, length));
    this.stream.write(bytes);
    this.stream.uncork();
  }

  sendEnvelope(channel: number, data: string | Uint8Array, binary: boolean, shared?: boolean): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (shared) this.stream.write(sharedEnvelopeFrame(channel, data, binary));
    else if (!binary) this.stream.write(textEnvelopeFrame(channel, data));
    else if (typeof data === "string" || data.byteLength <= COPY_LIMIT) this.stream.write(binaryEnvelopeFrame(channel, data));
    else {
      this.stream.cork();
      this.stream.write(binaryEnvelopeFrameHeader(channel, data.byteLength));
      this.stream.write(data);
      this.stream.uncork();
    }
  }

  close(): void {
    if (this.socket.readyState >= WebSocket.CLOSING) return;
    this.socket.close(1000);
    // A peer that never answers the close handshake must not hold the connection open.
    this.closeTimer = setTimeout(() => this.socket.terminate(), this.limits.closeTimeoutMs);
    this.closeTimer.unref();
  }

  abort(): void {
    this.socket.terminate();
  }

  retire(): void {
    this.retired = true;
    clearTimeout(this.closeTimer);
    this.socket.terminate();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!yielded.has(this)) this.socket.resume();
  }

  /** Stops reading until the event loop's next turn: the other clients' turn comes first (see fullRead). */
  yieldTurn(): void {
    if (yielded.has(this)) return;
    if (yielded.size === 0) setImmediate(resumeYielded);
    yielded.add(this);
    this.socket.pause();
  }

  /** The turn it yielded has passed: reads again, unless its connection stopped receiving meanwhile. */
  turnPassed(): void {
    if (this.connection.transport === this && this.connection.receivingPaused) return;
    this.socket.resume();
  }

  settle(): void {
    // ws queues each chunk read in an array; the first push grows it to 16 slots (144 bytes),
    // which it keeps after the chunk is consumed. An empty one in its place holds no slots.
    const receiver = (this.socket as unknown as { _receiver?: { _buffers?: unknown[] } })._receiver;
    if (receiver?._buffers?.length === 0) receiver._buffers = [];
  }
}

/** What a WebSocket transport takes from its endpoint's options. */
export interface WebSocketLimits {
  /** How long a peer has to answer the close handshake before its socket is dropped. */
  readonly closeTimeoutMs: number;
  /** The largest message taken (ws's maxPayload). */
  readonly maxIncomingPayload: number;
}

const transportKey = Symbol("hubwire:transport");
type SocketWithTransport = WebSocket & { [transportKey]?: WebSocketTransport };
type HolderOfSocket = object & Record<symbol, SocketWithTransport | undefined>;

/**
 * The key under which the upgraded stream and ws's receiver refer to their WebSocket: `ws`'s own
 * (a symbol it does not export, found on the first connection by what it refers to), so that
 * their shared listeners find the transport with no property of hubwire's on every stream (the
 * stream's property store is full: one more costs it 48 bytes). Ours, should `ws` keep none.
 */
let socketKey: symbol | undefined;
const ownSocketKey = Symbol("hubwire:socket");

function linkToSocket(holder: object, socket: WebSocket): void {
  const linked = holder as HolderOfSocket;
  socketKey ??= Object.getOwnPropertySymbols(linked).find((key) => linked[key] === socket) ?? ownSocketKey;
  if (linked[socketKey] !== socket) linked[socketKey] = socket;
}

/** The WebSocket that `holder` (the upgraded stream, ws's receiver) belongs to, while it has one. */
function socketOf(holder: object): SocketWithTransport | undefined {
  return socketKey === undefined ? undefined : (holder as HolderOfSocket)[socketKey];
}

/** The transport of the WebSocket that `holder` belongs to, while it has one. */
function transportOf(holder: object): WebSocketTransport | undefined {
  return socketOf(holder)?.[transportKey];
}

function onReceiverError(this: EventEmitter, error: Error & { code?: string }): void {
  const transport = transportOf(this);
  if (error.code !== "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" || !transport) return;
  if (transport.connection.transport === transport) transport.connection.receiveTooLarge(transport.maxPayload);
}

const beforeReceiverError = new JoinedListener(onReceiverError, "before");

/**
 * A ping is answered with a pong of the same data, as ws would do itself (autoPong): its own
 * answer keeps a closure, its context and four fields on every socket (126 bytes) to count the
 * pongs not yet written. Here the pongs waiting to be written count against the connection's send
 * buffer bound instead, so a client that pings and never reads is dropped as one that never reads
 * what it is sent. Joined to ws's listener on its receiver: one on the WebSocket would grow its
 * table of events.
 */
function onReceiverPing(this: EventEmitter, data: Buffer): void {
  const socket = socketOf(this);
  const transport = socket?.[transportKey];
  if (!transport || socket.readyState !== WebSocket.OPEN) return;
  socket.pong(data, false);
  if (transport.connection.transport === transport) transport.connection.controlQueued();
}

const afterReceiverPing = new JoinedListener(onReceiverPing, "after");

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  // Binary arrives as a plain Uint8Array view, not a Buffer: what protocols decode from it
  // (MessagePack bin values) then reaches hub methods as the same type a browser would send.
  const transport = (this as SocketWithTransport)[transportKey]!;
  const { connection } = transport;
  // ws hands over what a dropped socket had buffered unread: the client sends it again on its new socket.
  if (transport.retired) return;
  if (!transport.reading) {
    transport.reading = true;
    connection.readStarted();
  }
  if (isBinary) connection.receive(connection.receivesBuffers ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  else connection.receive(data.toString("utf8"), data);
}

/**
 * What the upgraded socket reads: handed to ws (`wsListener`, ws's own "data" listener), through
 * a FrameReader where a message is read in pieces; then the read has ended.
 */
function onSocketData(this: Duplex, chunk: Buffer, wsListener?: (this: unknown, chunk: Buffer) => void): void {
  const transport = transportOf(this);
  if (wsListener) {
    if (transport) readFrames(transport, this, chunk, wsListener);
    else wsListener.call(this, chunk);
  }
  if (transport) readEnded(transport, chunk);
}

/** The readers of the connections whose last read ended within a frame, only while one does. */
const readers = new Map<WebSocketTransport, FrameReader>();

function readFrames(transport: WebSocketTransport, stream: Duplex, chunk: Buffer, wsListener: (this: unknown, chunk: Buffer) => void): void {
  let reader = readers.size > 0 ? readers.get(transport) : undefined;
  if (!reader && holdsWholeFrames(chunk, transport.maxPayload)) return wsListener.call(stream, chunk);
  reader ??= new FrameReader();
  // Once ws has refused a frame it has ended its receiver, and takes nothing more.
  const receiver = transport.wsReceiver;
  reader.read(chunk, transport, (bytes) => {
    if (!receiver?.destroyed) wsListener.call(stream, bytes);
  });
  if (reader.idle) readers.delete(transport);
  else readers.set(transport, reader);
}

function readEnded(transport: WebSocketTransport, chunk: Buffer): void {
  if (transport.reading) {
    transport.reading = false;
    transport.connection.readEnded();
  }
  if (chunk.length >= fullRead) transport.yieldTurn();
}

/**
 * Node reads a socket 64 KB at a time, and libuv reads a ready socket up to 32 times in a row.
 * A read that fills those 64 KB says its client sends faster than its messages are handled (a
 * flood of small messages, or a large upload): its socket is read again only in the event
 * loop's next turn, after the other sockets ready now, so that one client cannot hold the loop,
 * and every other client's calls, for as long as it keeps sending. Smaller reads never wait.
 */
const fullRead = 64 * 1024;
/** Transports whose socket waits for the next turn; resumed together (see fullRead). */
const yielded = new Set<WebSocketTransport>();

function resumeYielded(): void {
  for (const transport of yielded) transport.turnPassed();
  yielded.clear();
}

const aroundSocketData = new JoinedListener(onSocketData, "around");

function onDrain(this: Duplex): void {
  transportOf(this)?.connection.drained();
}

function onClose(this: WebSocket, code: number): void {
  (this as SocketWithTransport)[transportKey]!.closed(code);
}

function ignore(): void {}

// A broadcast passes the same string to every socket in a row, so remembering the last frame
// encodes it once. Only for shared data: comparing every reply with the last one costs more than
// a cache that never hits saves.
let lastText = "";
let lastFrame = textFrame("");

function sharedTextFrame(text: string): Buffer {
  if (text.length > 65_536) return textFrame(text); // not worth holding on to
  if (text !== lastText) {
    lastFrame = textFrame(text);
    lastText = text;
  }
  return lastFrame;
}

// The same for binary data (up to COPY_LIMIT bytes; larger is written as it is, not copied): a
// broadcast's MessagePack is one array for every connection. Holding on to it keeps the
// comparison by identity sound.
let lastBytes: Uint8Array = new Uint8Array(0);
let lastBytesFrame = binaryFrame(lastBytes);

function sharedBinaryFrame(bytes: Uint8Array): Buffer {
  if (bytes !== lastBytes) {
    lastBytesFrame = binaryFrame(bytes);
    lastBytes = bytes;
  }
  return lastBytesFrame;
}

// The same for a broadcast to a hub that pages opened on the same channel: its frame is made
// once, binary ones included. Holding on to the data keeps the comparison by identity sound.
let lastEnvelopeData: string | Uint8Array = "";
let lastEnvelopeChannel = -1;
let lastEnvelopeBinary = false;
let lastEnvelopeFrame = textFrame("");

function sharedEnvelopeFrame(channel: number, data: string | Uint8Array, binary: boolean): Buffer {
  if (data === lastEnvelopeData && channel === lastEnvelopeChannel && binary === lastEnvelopeBinary) return lastEnvelopeFrame;
  const frame = binary ? binaryEnvelopeFrame(channel, data) : textEnvelopeFrame(channel, data);
  if ((typeof data === "string" ? data.length : data.byteLength) > 65_536) return frame; // not worth holding on to
  lastEnvelopeData = data;
  lastEnvelopeChannel = channel;
  lastEnvelopeBinary = binary;
  lastEnvelopeFrame = frame;
  return frame;
}
