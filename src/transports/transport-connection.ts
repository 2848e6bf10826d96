import { HubwireError } from "../errors.js";
import { decodeUtf8 } from "../protocol/utf8.js";
import type { Refusal } from "./connection-admission.js";
import type { ConnectionRequest } from "./connection-request.js";
import type { SendGate } from "./send-gate.js";
import type { Transport, TransportName } from "./transport.js";
import type { RecordFraming } from "../protocol/hub-protocol.js";

/** Whoever consumes a connection's bytes: the hub dispatcher, or a raw connection handler. */
export interface ConnectionReceiver {
  /**
   * A message arrived: text as a string, binary as bytes (a POST's body is text only when it is
   * UTF-8, as a WebSocket's text frame must be). For text, `utf8` is the bytes it was
   * decoded from when the transport has them (parsers read them faster than the string). With
   * `start` and `end`, the message is only `data[start, end)`, its bytes at the same positions
   * of `utf8` (one byte a character): a multiplexed hub's envelope, handed over in its frame
   * rather than cut out of it. Only a hub's channel gives them, and a hub's connection reads them.
   */
  onData(data: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void;
  /** Called once, when the transport has ended; `error` says why when it ended abnormally. */
  onClose(error?: Error): void;
  /**
   * The client sent more in one WebSocket message or POST than the endpoint accepts (`limit`
   * bytes), so it was not read. The receiver ends the connection and tells its client why.
   * Without this, the connection is dropped.
   */
  onTooLarge?(limit: number): void;
  /**
   * Stateful reconnect: the transport dropped (`error` says how, when known) and the connection
   * waits, suspended, for its client to come back. A multiplexed connection suspends its hubs.
   */
  onSuspended?(error: Error | undefined): void;
  /** Stateful reconnect: the client is back on a new transport; replay what it missed before anything else. */
  onResumed?(): void;
  /**
   * For transports that see where each read from the network begins and ends (WebSockets): the
   * data of one read arrives between these two calls, so replies can wait for the read's end.
   */
  onReadStart?(): void;
  onReadEnd?(): void;
  /**
   * How the hub messages in what the client sends are delimited, once known (a hub connection's
   * handshake is done): a WebSocket then reads a message too large or fragmented for `ws` in
   * pieces of whole hub messages (see FrameReader). Undefined: messages are taken whole.
   */
  readonly recordFraming?: RecordFraming | undefined;
  /** What was queued for the peer has gone (see TransportConnection.drained): a multiplexed connection wakes its hubs' writers. */
  onDrained?(): void;
  /**
   * A later request of the connection (a long poll, a send, a DELETE, the WebSocket that resumes
   * a stateful one) carries `token`: a receiver that admits users of its own (a multiplexed
   * connection, for its hubs) authenticates it again and refuses it as an endpoint would; its
   * users' authentication follows a fresh token.
   */
  reauthenticate?(request: ConnectionRequest, token: string | undefined): Promise<Refusal | undefined>;
  /**
   * A receiver that admits users of its own: when the first of their authentications ends (ms
   * since the epoch), if any is known. An authentication refresh answers with it.
   */
  earliestAuthExpiry?(): number | undefined;
  /** A later request of the connection changed its user's authentication (see adopt); settles once that is handled. */
  onAuthenticationRefreshed?(): Promise<void>;
  /** Whether a later request's fresh authentication of the connection's user may change it (see refreshRefusal). */
  acceptsRefresh?(user: unknown, expiresAt: number | undefined, request: ConnectionRequest): Promise<boolean>;
}

/** `suspended`: a stateful connection whose WebSocket dropped, waiting for its client to come back. */
export type ConnectionState = "negotiated" | "active" | "suspended" | "closed";

/**
 * One logical connection of an endpoint, from negotiate (or a skipNegotiation WebSocket) to close.
 * It joins a transport to a receiver and knows nothing of what the bytes mean.
 */
export class TransportConnection {
  state: ConnectionState = "negotiated";
  /** Whatever the endpoint's admission check returned for the connection's request. */
  user: unknown = undefined;
  /** The user id derived from `user`, if any. */
  userId: string | undefined;
  /**
   * Who negotiated the connection (see Admission): every later request of it must authenticate
   * as the same user, so a connection token alone never acts for its user.
   */
  identity: string | undefined;
  /**
   * Told when `authExpiresAt` changes (a later request brought a fresh token): the hub's
   * close-on-expiry timer follows it. One field, no event emitter per connection.
   */
  authExpiryListener: { authExpiryChanged(): void } | undefined;
  private expiresAt: number | undefined;

  /** When the user's authentication ends (ms since the epoch), if it is known. */
  get authExpiresAt(): number | undefined {
    return this.expiresAt;
  }

  set authExpiresAt(expiresAt: number | undefined) {
    if (expiresAt === this.expiresAt) return;
    this.expiresAt = expiresAt;
    this.authExpiryListener?.authExpiryChanged();
  }
  request: ConnectionRequest | undefined;
  transport: Transport | undefined;
  receiver: ConnectionReceiver | undefined;
  readonly createdAt = Date.now();
  /** Told when the connection has closed (the endpoint's registry); one field, no closure per connection. */
  owner: { connectionClosed(connection: TransportConnection): void } | undefined;
  /** The client asked for stateful reconnect at negotiate and the endpoint allows it. */
  statefulReconnect = false;
  /** Set by the receiver while it can replay what a client missed: only then is a dropped WebSocket waited for. */
  resumable = false;
  /**
   * Set by a receiver that takes a WebSocket's binary messages as the transport's own Buffer and
   * hands on views of its own (a multiplexed connection, one view per envelope's payload): the
   * transport then makes no view of the whole message first.
   */
  receivesBuffers = false;
  /** When the connection was suspended (ms timestamp), until a new transport has taken over. */
  suspendedSince: number | undefined;
  private closeRequested = false;
  private pauses = 0;
  private resumeWaiters: Array<() => void> | undefined;
  private drainWaiters: Array<() => void> | undefined;
  /** The client's POSTs (SSE, long polling), taken one at a time; made by the first one. */
  sendGate: SendGate | undefined;

  constructor(
    /** Public id: what hubs see and clients may share. */
    readonly connectionId: string,
    /** Secret token that authorizes the transport requests; equals the id for negotiate v0. */
    readonly connectionToken: string,
    /** Unsent bytes allowed to pile up for a client that does not read, before it is dropped. */
    private readonly maxBufferedBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  get isClosed(): boolean {
    return this.state === "closed";
  }

  /**
   * close() was called and the transport is still ending (a WebSocket until its close handshake
   * is done, a poller until its last poll): it is still "active", but nothing new may start on it.
   */
  get isClosing(): boolean {
    return this.closeRequested && this.state !== "closed";
  }

  get transportName(): TransportName | undefined {
    return this.transport?.name;
  }

  /**
   * How a WebSocket upgrade for the connection is refused once its transport runs, wherever it
   * arrives: as ASP.NET Core refuses it, 400 for long polling or SSE, 409 with no text for a
   * second WebSocket.
   */
  get upgradeRefusal(): { status: 400 | 409; reason: string } {
    const running = this.transportName;
    return running !== undefined && running !== "WebSockets" ? { status: 400, reason: "Cannot change transports mid-connection" } : { status: 409, reason: "" };
  }

  /** `shared`: see Transport.send. */
  send(data: string | Uint8Array, shared = false): void {
    const transport = this.transport;
    // While suspended, what is sent waits in the receiver's replay buffer, not in a dead socket.
    if (!transport || this.state !== "active") return;
    // Checked before writing, so one large message into an empty buffer always goes.
    if (transport.bufferedBytes > this.maxBufferedBytes) return this.bufferFull();
    transport.send(data, shared);
  }

  /** Whether the transport takes text as UTF-8 bytes (see Transport.sendUtf8): then {@link sendUtf8} costs no decoding. */
  get takesUtf8(): boolean {
    return this.transport?.sendUtf8 !== undefined;
  }

  /**
   * As {@link send}, for text already encoded as UTF-8: sent as text. A transport that does not
   * take bytes for text (SSE, a hub's channel in a multiplexed connection) is sent it decoded.
   */
  sendUtf8(utf8: Uint8Array): void {
    const transport = this.transport;
    if (!transport || this.state !== "active") return;
    if (transport.bufferedBytes > this.maxBufferedBytes) return this.bufferFull();
    if (transport.sendUtf8) transport.sendUtf8(utf8);
    else transport.send(decodeUtf8(utf8));
  }

  /** Whether the transport frames multiplexing envelopes itself (see Transport.sendEnvelope). */
  get framesEnvelopes(): boolean {
    return this.transport?.sendEnvelope !== undefined;
  }

  /** As {@link send}, for `data` in the envelope of `channel`; only while {@link framesEnvelopes}. */
  sendEnvelope(channel: number, data: string | Uint8Array, binary: boolean, shared = false): void {
    const transport = this.transport;
    if (!transport || this.state !== "active") return;
    if (transport.bufferedBytes > this.maxBufferedBytes) return this.bufferFull();
    transport.sendEnvelope!(channel, data, binary, shared);
  }

  /**
   * The transport queued something of its own for the client (a WebSocket pong): past the send
   * buffer's bound the client is dropped, as for a send, so that what a client provokes by
   * itself cannot pile up either.
   */
  controlQueued(): void {
    const transport = this.transport;
    if (transport && transport.bufferedBytes > this.maxBufferedBytes) this.bufferFull();
  }

  private bufferFull(): void {
    this.abort(
      new HubwireError("ERR_SEND_BUFFER_FULL", `The client is not reading: more than ${this.maxBufferedBytes} bytes are waiting to be sent.`),
    );
  }

  /** Drops the connection at once and reports `error` as the reason. */
  abort(error: Error): void {
    if (this.state === "closed") return;
    this.transportClosed(error);
    this.transport?.abort();
  }

  /** Ends the connection gracefully; the receiver's onClose follows once the transport is down. */
  close(): void {
    if (this.state === "closed") return;
    this.closeRequested = true;
    if (this.transport && this.state !== "suspended") this.transport.close();
    else this.transportClosed();
  }

  get receivingPaused(): boolean {
    return this.pauses > 0;
  }

  /**
   * Stops reading from the client (backpressure: a consumer is full) until every pause has been
   * matched by a resume. A WebSocket stops reading its socket; an HTTP send is answered later.
   */
  pauseReceiving(): void {
    if (this.pauses++ === 0) this.transport?.pause?.();
  }

  resumeReceiving(): void {
    if (this.pauses === 0 || --this.pauses > 0) return;
    this.transport?.resume?.();
    const waiters = this.resumeWaiters;
    this.resumeWaiters = undefined;
    if (waiters) for (const waiter of waiters) waiter();
  }

  /** Resolves once receiving is not paused (at once when it is not), or the connection closed. */
  whenReceiving(): Promise<void> {
    if (this.pauses === 0 || this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => (this.resumeWaiters ??= []).push(resolve));
  }

  /**
   * Resolves once the transport has handed what it had queued to the network (a WebSocket or
   * SSE response drained, a poll took the queue), or the connection closed. Producers that
   * wait for a slow reader wait on this: no timers, so thousands of waiting streams cost nothing.
   */
  whenDrained(): Promise<void> {
    if (this.state === "closed") return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /** For transports: what was queued for the peer has gone (see {@link whenDrained}). */
  drained(): void {
    this.receiver?.onDrained?.();
    const waiters = this.drainWaiters;
    if (!waiters) return;
    this.drainWaiters = undefined;
    for (const waiter of waiters) waiter();
  }

  /** For transports: a message arrived; see {@link ConnectionReceiver.onData}. */
  receive(data: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void {
    this.receiver?.onData(data, utf8, start, end);
  }

  /** For transports: the client sent more at once than `limit` bytes; see {@link ConnectionReceiver.onTooLarge}. */
  receiveTooLarge(limit: number): void {
    if (this.state === "closed") return;
    if (this.receiver?.onTooLarge) return this.receiver.onTooLarge(limit);
    this.abort(new HubwireError("ERR_REQUEST_TOO_LARGE", `The client sent more than ${limit} bytes in one message.`));
  }

  /**
   * For transports: a read from the network has begun (told before its first message, at the
   * latest); what it holds arrives by `receive` before `readEnded`.
   */
  readStarted(): void {
    this.receiver?.onReadStart?.();
  }

  readEnded(): void {
    this.receiver?.onReadEnd?.();
  }

  /**
   * For transports: the transport dropped without a clean close. A resumable connection is
   * suspended and waits for its client to reconnect (the endpoint's disconnect timeout); any
   * other is closed with `error`.
   */
  transportLost(error: Error): void {
    if (this.state === "closed") return;
    if (this.state !== "active" || !this.resumable || this.closeRequested) return this.transportClosed(error);
    this.state = "suspended";
    this.suspendedSince = Date.now();
    this.receiver?.onSuspended?.(error);
  }

  /**
   * The receiver can no longer replay what the client missed: a drop now ends the connection,
   * and a connection already waiting for its client ends at once, with `why`.
   */
  stopResuming(why: Error): void {
    this.resumable = false;
    if (this.state === "suspended") this.transportClosed(why);
  }

  /**
   * Suspends a resumable connection whose transport still looks alive but is not: its client is
   * back on a new socket (a half-open drop), or has been silent past the client timeout. The old
   * transport is dropped at once and reports nothing more, so it can neither deliver a late
   * message nor end the connection. True too for one suspended already (its socket dropped
   * before, or, for a hub of a multiplexed connection, another hub dropped it); false when the
   * connection cannot be resumed.
   */
  displaceTransport(): boolean {
    const transport = this.transport;
    if (this.state === "suspended" && this.resumable) return true;
    if (this.state !== "active" || !this.resumable || this.closeRequested || !transport?.retire) return false;
    this.state = "suspended";
    this.suspendedSince = Date.now();
    transport.retire();
    this.receiver?.onSuspended?.(undefined);
    return true;
  }

  /** Claims a suspended connection for a reconnecting client, so a second attempt racing it is refused. */
  claimSuspended(): boolean {
    if (this.state !== "suspended" || !this.resumable) return false;
    this.state = "active";
    return true;
  }

  /** Gives back a claim whose reconnect failed before a transport existed. */
  releaseClaim(): void {
    if (this.state === "active" && this.suspendedSince !== undefined) this.state = "suspended";
  }

  /** A reconnecting client's new transport takes over from the dropped one. */
  resume(transport: Transport): void {
    this.state = "active"; // also if the old socket's close was reported after the claim
    this.transport = transport;
    this.suspendedSince = undefined;
    if (this.pauses > 0) transport.pause?.();
    this.receiver?.onResumed?.();
    this.drained(); // waiters of the dropped transport look again at the new one
  }

  /**
   * The connection moved to another server: it is over here, without a word to its receiver
   * (which handed its state over) or its client (who is on the other server already).
   */
  movedAway(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.receiver = undefined;
    const waiters = this.resumeWaiters;
    this.resumeWaiters = undefined;
    if (waiters) for (const waiter of waiters) waiter();
    this.drained();
  }

  /**
   * Arrived from another server (a move, or crash recovery) as a stateful connection of the user
   * `identity` names, waiting for its client's new socket (see ConnectionMoves).
   */
  movedIn(identity: string | undefined): void {
    this.identity = identity;
    this.statefulReconnect = true;
    this.state = "suspended";
    this.suspendedSince = Date.now();
  }

  /** For transports: the transport is gone. Safe to call more than once. */
  transportClosed(error?: Error): void {
    if (this.state === "closed") return;
    this.state = "closed";
    const waiters = this.resumeWaiters;
    this.resumeWaiters = undefined;
    if (waiters) for (const waiter of waiters) waiter();
    this.drained();
    this.receiver?.onClose(error);
    this.owner?.connectionClosed(this);
  }
}
