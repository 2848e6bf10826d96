import { setMaxListeners } from "node:events";
import { guardListeners, type ListenerFailures } from "./guarded-signal.js";
import type { HubProtocol, RecordFraming } from "../protocol/hub-protocol.js";
import { HubwireError } from "../errors.js";
import { MessageType, type CloseMessage, type CompletionMessage, type HubMessage } from "../protocol/messages.js";
import { SerializedHubMessage } from "../protocol/serialized-message.js";
import type { ConnectionRequest } from "../transports/connection-request.js";
import type { TransportName } from "../transports/transport.js";
import type { ConnectionReceiver, TransportConnection } from "../transports/transport-connection.js";
import { ClientResults, type ClientInvokeOptions } from "./client-results.js";
import { unstamped, type Heartbeat, type HeartbeatSubscriber } from "./heartbeat.js";
import { isTrackable } from "../protocol/message-buffer.js";
import { movableItems } from "./movable-items.js";
import { MovableMessageBuffer, type MessageBufferState } from "./movable-message-buffer.js";
import { allocBytes } from "../protocol/byte-pool.js";
import { decodeUtf8 } from "../protocol/utf8.js";
import { JsonHubProtocol } from "../protocol/json-protocol.js";
import { writeJsonMessageUtf8 } from "./json-completion-bytes.js";
import { append } from "../protocol/append.js";
import { byteLengthOf } from "../protocol/typed-array-access.js";
import { asError } from "../protocol/thrown-value.js";

export interface HubConnectionOptions {
  /** Send a Ping after this long without sending anything (not on long polling). */
  keepAliveIntervalMs: number;
  /** Give up on a client that sent nothing for this long (not on long polling). */
  clientTimeoutMs: number;
  /** Give up on a client that has not completed its handshake after this long. */
  handshakeTimeoutMs: number;
  /** How long a client result is awaited unless the call says otherwise. */
  clientResultTimeoutMs: number;
  /** Told of every message written, when metrics are on. */
  telemetry?: { sent(protocol: string, payload: string | Uint8Array): void } | undefined;
}

/** What the owner of a hub connection (the dispatcher) is told. */
export interface HubConnectionEvents {
  /** `utf8`, `start` and `end`: see ConnectionReceiver.onData. */
  onData(connection: HubConnection, data: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void;
  onClose(connection: HubConnection, error?: Error): void;
  /** The client sent more at once than the transport accepts (`limit` bytes); nothing of it was read. */
  onTooLarge(connection: HubConnection, limit: number): void;
  /** The handshake or the client went silent for too long. */
  onTimeout(connection: HubConnection, reason: "handshake" | "client"): void;
  /** Stateful reconnect: the transport dropped (`error`: how, when known); the connection waits for its client. */
  onSuspended?(connection: HubConnection, error: Error | undefined): void;
  /** Stateful reconnect: the client is back on a new transport, and what it missed was sent again. */
  onResumed?(connection: HubConnection): void;
  /** A listener on the connection's signal, or on one of its calls' signals, threw (see guardListeners). */
  onListenerThrew?(connection: HubConnection, error: unknown): void;
  /** A later request of the connection changed its user's authentication: `user` is the fresh one. */
  onAuthenticationRefreshed?(connection: HubConnection): Promise<void>;
  /** Whether a later request's fresh authentication of the connection's user may change it. */
  acceptsRefresh?(connection: HubConnection, user: unknown, expiresAt: number | undefined, request: ConnectionRequest): Promise<boolean>;
}

const ping = new SerializedHubMessage({ type: MessageType.Ping });

/**
 * One hub connection's state: ids, user, negotiated protocol, keep-alive and timeouts, and the
 * single ordered write path. Writes never throw into their caller: once the connection is
 * closing they are dropped, and a failed transport reports itself through onClose.
 */
export class HubConnection implements ConnectionReceiver, HeartbeatSubscriber, ListenerFailures {
  // Fields every connection sets soon after it is made are defined here, in the object itself:
  // added later, they would move to a separate property store (40 bytes more per connection) and
  // give connections of different ages different shapes.
  protocol: HubProtocol | undefined = undefined;
  handshakeComplete = false;
  /** The user id the user id provider gave, if any. */
  userIdentifier: string | undefined = undefined;
  private closing = false;
  // Stamped from the heartbeat's clock: starting as undefined, they refer to its number instead of
  // boxing one each (see unstamped).
  private lastSendAt = unstamped;
  private lastReceiveAt = unstamped;
  private readonly startedAt: number = unstamped;
  private abortController: AbortController | undefined;
  private itemsMap: Map<unknown, unknown> | undefined;
  private results: ClientResults | undefined;
  /** Writes held while a burst of received messages is handled; sent as one frame after. */
  private batch: Array<string | Uint8Array> | undefined = undefined;
  private batching = false;
  /** The batch began with a read of the transport (onReadStart) and ends with it. */
  private batchEndsWithRead = false;
  /** Stateful reconnect's record of what was sent and received (only when the client asked for it). */
  private buffer: MovableMessageBuffer | undefined;

  constructor(
    readonly transport: TransportConnection,
    private readonly options: HubConnectionOptions,
    private readonly heartbeat: Heartbeat,
    private readonly events: HubConnectionEvents,
  ) {
    this.startedAt = this.lastSendAt = this.lastReceiveAt = heartbeat.current();
    transport.receiver = this;
  }

  get connectionId(): string {
    return this.transport.connectionId;
  }

  get user(): unknown {
    return this.transport.user;
  }

  get request(): ConnectionRequest | undefined {
    return this.transport.request;
  }

  get transportName(): TransportName | undefined {
    return this.transport.transportName;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** How the hub messages the client sends are delimited: its protocol's, once the handshake is done. */
  get recordFraming(): RecordFraming | undefined {
    if (!this.handshakeComplete) return undefined;
    return this.protocol!.transferFormat === "Text" ? "text" : "binary";
  }

  /** Per-connection storage that lives as long as the connection. */
  get items(): Map<unknown, unknown> {
    return (this.itemsMap ??= new Map());
  }

  /** A later request changed the user's authentication (see adopt): the owner's hub hears of it. */
  onAuthenticationRefreshed(): Promise<void> {
    return this.events.onAuthenticationRefreshed?.(this) ?? Promise.resolve();
  }

  /** Whether a later request's fresh authentication may change the connection's: the owner decides. */
  acceptsRefresh(user: unknown, expiresAt: number | undefined, request: ConnectionRequest): Promise<boolean> {
    return this.events.acceptsRefresh?.(this, user, expiresAt, request) ?? Promise.resolve(true);
  }

  /** Hub code listening on the connection's signal or one of its calls' threw: told, not left to crash the process. */
  listenerThrew(error: unknown): void {
    this.events.onListenerThrew?.(this, error);
  }

  /** The connection's signal as hub code gets it: what its listeners throw is told, not left to crash the process. */
  get hubSignal(): AbortSignal {
    const { signal } = this;
    guardListeners(signal, this);
    return signal;
  }

  /** Fires when the connection ends; created on first use so idle connections don't pay for it. */
  get signal(): AbortSignal {
    if (!this.abortController) {
      this.abortController = new AbortController();
      // Every running call that reads its own signal listens here: thousands of streams are no leak.
      setMaxListeners(0, this.abortController.signal);
    }
    if (this.transport.state === "closed") this.abortController.abort();
    return this.abortController.signal;
  }

  /** Bytes written and not yet handed to the network; producers (streams) wait while it is high. */
  get bufferedBytes(): number {
    return this.transport.transport?.bufferedBytes ?? 0;
  }

  /** Resolves once the transport has written out what it held, or the connection ended. */
  whenDrained(): Promise<void> {
    return this.transport.whenDrained();
  }

  /** Calls `target` on this client and awaits its answer (a client result). */
  invokeClient(target: string, args: unknown[], options?: ClientInvokeOptions): Promise<unknown> {
    if (this.closing) {
      return Promise.reject(new HubwireError("ERR_CONNECTION_CLOSED", `Connection '${this.connectionId}' is closed.`));
    }
    this.results ??= new ClientResults((message) => this.write(message), this.options.clientResultTimeoutMs);
    return this.results.invoke(target, args, options);
  }

  /** Hands a Completion to the client result awaiting it; false when none is. */
  completeClientResult(message: CompletionMessage): boolean {
    return this.results?.complete(message) ?? false;
  }

  /** Encodes and sends one message. The protocol must be known (after the handshake). */
  write(message: HubMessage): void {
    const protocol = this.protocol;
    if (this.closing || !protocol) return;
    // JSON's plain Completions are written as UTF-8 bytes when the transport takes them as text:
    // no string is built, then flattened, measured and encoded again for the frame.
    const payload =
      (protocol instanceof JsonHubProtocol && this.transport.takesUtf8 && writeJsonMessageUtf8(message)) || protocol.writeMessage(message);
    this.options.telemetry?.sent(protocol.name, payload);
    if (this.buffer && isTrackable(message.type)) this.keep(payload);
    this.send(payload);
  }

  /** Sends a message encoded once for all its recipients. */
  writeSerialized(message: SerializedHubMessage): void {
    if (this.closing || !this.protocol) return;
    const payload = message.payloadFor(this.protocol);
    this.options.telemetry?.sent(this.protocol.name, payload);
    if (this.buffer && isTrackable(message.message.type)) this.keep(payload);
    this.send(payload, true);
  }

  /**
   * Turns on stateful reconnect (the client asked at negotiate and in its handshake): trackable
   * messages are numbered and kept until acknowledged, and a dropped WebSocket is waited for.
   */
  enableStatefulReconnect(bufferSize: number): void {
    this.buffer = new MovableMessageBuffer(bufferSize);
    this.transport.resumable = true;
  }

  /** Whether the connection can move to another server: a stateful one whose buffer still holds all the client may miss. */
  get movable(): boolean {
    return this.handshakeComplete && !this.closing && this.buffer !== undefined && !this.buffer.overflowed && this.protocol !== undefined;
  }

  /**
   * What another server needs to rebuild the connection if this one dies (see
   * ConnectionRecovery), its items that can move included; undefined when it cannot move.
   */
  checkpoint(): { protocol: string; buffer: MessageBufferState; items?: Array<[string, unknown]> } | undefined {
    if (!this.movable) return undefined;
    const state = { protocol: this.protocol!.name, buffer: this.buffer!.state };
    const { moved } = this.itemsToMove();
    return moved.length > 0 ? { ...state, items: moved } : state;
  }

  /** The items that go with the connection to another server, and the keys of those that cannot (see movableItems). */
  itemsToMove(): { moved: Array<[string, unknown]>; left: string[] } {
    return this.itemsMap && this.itemsMap.size > 0 ? movableItems(this.itemsMap) : { moved: [], left: [] };
  }

  /**
   * The connection moves to another server: returns what that server needs to go on (its
   * protocol and stateful reconnect's buffer) and ends here without a word to the client.
   */
  moveAway(): { protocol: string; buffer: MessageBufferState } {
    const handoff = { protocol: this.protocol!.name, buffer: this.buffer!.state };
    this.closing = true;
    this.batch = undefined;
    this.abortController?.abort();
    this.failClientResults();
    return handoff;
  }

  /**
   * The connection is moving: the client results awaited here fail with ERR_CONNECTION_MOVED
   * (the client's answer would reach the other server), so the calls that await them can end.
   */
  failClientResults(): void {
    this.results?.rejectAll(this.connectionId, "ERR_CONNECTION_MOVED");
  }

  /**
   * A connection that moved here from another server: its handshake is done, and stateful
   * reconnect goes on from the other server's buffer.
   */
  movedIn(protocol: HubProtocol, buffer: MessageBufferState, bufferSize: number): void {
    this.protocol = protocol;
    this.handshakeComplete = true;
    this.buffer = MovableMessageBuffer.from(bufferSize, buffer);
    this.transport.resumable = true;
  }

  /** False for a trackable message the client sent again after a reconnect and that was already handled. */
  receivedTrackable(): boolean {
    return this.buffer?.receivedTrackable() ?? true;
  }

  /** The client's Ack: it has everything up to `sequenceId`. */
  acknowledged(sequenceId: number): void {
    this.buffer?.acknowledged(sequenceId);
  }

  /** The client's Sequence, first on a new transport; throws a ProtocolError for an id it cannot have sent. */
  resequence(sequenceId: number): void {
    this.buffer?.resequence(sequenceId);
  }

  /** Stateful reconnect: the transport dropped; what is sent meanwhile waits in the buffer (see keep). */
  onSuspended(error: Error | undefined): void {
    this.events.onSuspended?.(this, error);
  }

  /** Stateful reconnect: the client is back. Tell it where the replay starts, then send what it may have missed. */
  onResumed(): void {
    if (!this.buffer || !this.protocol || this.closing) return;
    this.lastReceiveAt = this.heartbeat.now;
    this.batch = undefined; // what a batch held is in the replay
    const { sequenceId, payloads } = this.buffer.replay();
    this.sendNow(this.protocol.writeMessage({ type: MessageType.Sequence, sequenceId }));
    for (const payload of payloads) this.sendNow(payload);
    this.events.onResumed?.(this);
  }

  private keep(payload: string | Uint8Array): void {
    this.buffer!.sent(payload);
    // Suspended and not resumable: its client came back through another server and the
    // connection is moving there, which it can no longer do either.
    const couldResume = this.transport.resumable || this.transport.state === "suspended";
    if (this.buffer!.overflowed && couldResume) this.transport.stopResuming(bufferOutgrown());
  }

  /** Sends bytes already framed (the handshake reply); `shared`: see Transport.send. */
  send(payload: string | Uint8Array, shared = false): void {
    if (this.closing) return;
    this.lastSendAt = this.heartbeat.now;
    if (this.batching) {
      this.batch = append(this.batch, payload);
      return;
    }
    this.sendNow(payload, shared);
  }

  /**
   * Holds this connection's writes until the current task ends, then sends them in one frame
   * (the protocols allow several messages per frame). Called when messages arrive: the replies
   * to a burst of calls cost one write instead of one each. Does nothing inside a read's batch.
   */
  beginBatch(): void {
    if (this.batching) return;
    this.batching = true;
    endBatchSoon(this);
  }

  /**
   * A read of the transport begins (WebSockets): writes are held until it ends. Replies to the
   * calls one read held still go out in one write, and no microtask is needed to end the batch.
   */
  onReadStart(): void {
    if (this.batching) return;
    this.batching = true;
    this.batchEndsWithRead = true;
  }

  onReadEnd(): void {
    if (!this.batchEndsWithRead) return;
    this.batchEndsWithRead = false;
    this.endBatch();
  }

  /** Sends what a batch held (also called when the connection closes mid-batch). */
  endBatch(): void {
    this.batching = false;
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    if (batch.length === 1) return this.sendNow(batch[0]!);
    if (batch.every((part) => typeof part === "string")) return this.sendNow(batch.join(""));
    if (batch.every((part) => typeof part !== "string")) return this.sendNow(concatBytes(batch as Uint8Array[]));
    // A text protocol's mix of text and UTF-8 bytes is all text: one frame of the strings joined.
    // (Not of the bytes joined: text sent as bytes is ASCII only, see Transport.sendUtf8.)
    if (this.protocol?.transferFormat === "Text") return this.sendNow(batch.map(toText).join(""));
    for (const part of batch) this.sendNow(part); // a binary protocol's mix (never after the handshake): keep each as it is
  }

  private sendNow(payload: string | Uint8Array, shared = false): void {
    try {
      // Bytes of a text protocol are its text in UTF-8 (see write), sent as text.
      if (typeof payload !== "string" && this.protocol?.transferFormat === "Text") this.transport.sendUtf8(payload);
      else this.transport.send(payload, shared);
    } catch (error) {
      // A transport must not throw; if one does, it fails its own connection, never the caller.
      this.closing = true;
      this.transport.transportClosed(asError(error));
    }
  }

  /** Sends a Close message (when the handshake is done) and ends the transport. */
  close(message?: CloseMessage): void {
    if (this.closing) return;
    if (message && this.handshakeComplete) this.write(message);
    this.endBatch(); // what is held goes before the transport closes
    this.closing = true;
    this.transport.close();
  }

  onData(data: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void {
    this.lastReceiveAt = this.heartbeat.now;
    this.events.onData(this, data, utf8, start, end);
  }

  onTooLarge(limit: number): void {
    if (!this.closing) this.events.onTooLarge(this, limit);
  }

  onClose(error?: Error): void {
    this.closing = true;
    this.abortController?.abort();
    this.results?.rejectAll(this.connectionId);
    this.events.onClose(this, error);
  }

  onHeartbeat(now: number): void {
    if (this.closing) return;
    if (!this.handshakeComplete) {
      if (now - this.startedAt >= this.options.handshakeTimeoutMs) this.events.onTimeout(this, "handshake");
      return;
    }
    // Long polling has its own liveness (poll cadence): no pings, no ping-based timeout.
    if (this.transportName === "LongPolling" || this.transport.transport?.keepsAlive) return;
    // While receiving is paused (an upload stream is full) the client's messages wait unread;
    // while a stateful connection is suspended its client is reconnecting.
    if (this.transport.receivingPaused || this.transport.state === "suspended") this.lastReceiveAt = now;
    else if (now - this.lastReceiveAt >= this.options.clientTimeoutMs) {
      this.events.onTimeout(this, "client");
      return;
    }
    if (now - this.lastSendAt >= this.options.keepAliveIntervalMs) this.writeSerialized(ping);
    const ack = this.buffer?.ackDue();
    if (ack !== undefined) this.write({ type: MessageType.Ack, sequenceId: ack });
  }
}

/**
 * Connections whose batch ends when the current task's microtasks run. One shared promise
 * reaction ends them all: `queueMicrotask` would make an async resource and a bound function per
 * received frame.
 */
let batchesToEnd: HubConnection[] = [];
const settled = Promise.resolve();

function endBatchSoon(connection: HubConnection): void {
  if (batchesToEnd.push(connection) === 1) void settled.then(endBatches);
}

function endBatches(): void {
  const connections = batchesToEnd;
  batchesToEnd = [];
  for (const connection of connections) connection.endBatch();
}

function toText(part: string | Uint8Array): string {
  return typeof part === "string" ? part : decodeUtf8(part);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += byteLengthOf.call(part) as number;
  const joined = allocBytes(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += byteLengthOf.call(part) as number;
  }
  return joined;
}

/** Why a connection waiting for its client ends at once (see keep). */
function bufferOutgrown(): HubwireError {
  return new HubwireError(
    "ERR_STATEFUL_BUFFER_FULL",
    "More was sent to the connection while its client was away than its stateful reconnect buffer holds (statefulReconnectBufferSize): it can no longer be resumed.",
  );
}
