import { HubConnection, type HubConnectionEvents } from "../connection/hub-connection.js";
import type { HeartbeatSubscriber } from "../connection/heartbeat.js";
import { HubwireError } from "../errors.js";
import type { HandoffPlan, LifetimeHandoff } from "../lifetime/connection-handoff.js";
import type { LifetimeMoves } from "../lifetime/hub-lifetime-manager.js";
import type { MessageBufferState } from "../connection/movable-message-buffer.js";
import { isTrackable } from "../protocol/message-buffer.js";
import type { Hub } from "../hubs/hub.js";
import type { HubCallerContext } from "../hubs/hub-context-types.js";
import { MessageType, type HubMessage } from "../protocol/messages.js";
import { RECORD_SEPARATOR, RECORD_SEPARATOR_CODE } from "../protocol/text-framing.js";
import { viewOf } from "../protocol/typed-array-access.js";
import { byteLength, encodeUtf8 } from "../protocol/utf8.js";
import type { ConnectionRequest } from "../transports/connection-request.js";
import type { TransportConnection } from "../transports/transport-connection.js";
import type { LogEvent } from "../logger.js";
import { messageTooLarge } from "../protocol/protocol-error.js";
import { asError } from "../protocol/thrown-value.js";
import { settlesWithin } from "../settles-within.js";
import { ExpiryTimer } from "./authentication-expiry.js";
import { CallerContext } from "./caller-context.js";
import { HubCallerClientsImpl } from "./client-targets.js";
import { dispatchLog } from "./dispatch-log.js";
import { detailFor, errorTexts } from "./error-texts.js";
import { answerHandshake, refuseHandshake } from "./handshake-answer.js";
import type { HubLifetimeContext } from "./hub-filter.js";
import type { HubRuntime } from "./hub-runtime.js";
import { ConnectionScope } from "./invocation-scope.js";
import { InvocationRunner } from "./invocation-runner.js";
import { readsWaiting, splitTurn, waitTurn } from "./read-turns.js";
import { arrivedItems } from "../connection/movable-items.js";

/** What a connection takes with it to the server it moves to. */
export interface SessionHandoff {
  protocol: string;
  buffer: MessageBufferState;
  lifetime: LifetimeHandoff;
  /** The connection's `items` that can move (see movableItems); as the handoff or checkpoint carried them. */
  items?: unknown;
}

/**
 * One connection's life in a hub: handshake, onConnected, the message loop, onDisconnected.
 * Invocations run in arrival order, at most `maximumParallelInvocationsPerClient` at once; other
 * messages (pings, cancels, completions) are handled as they arrive so they never wait behind a
 * busy invocation (a hub awaiting its caller's answer must not deadlock the connection).
 */
export class ConnectionSession implements HubConnectionEvents, HeartbeatSubscriber {
  readonly connection: HubConnection;
  private fields: { hub: string; connectionId: string } | undefined;
  private finishedPromise: Promise<void> | undefined;
  private isFinished = false;
  // Set for every connection that completes its handshake: defined here, in the object itself (see HubConnection).
  private clientsOfCaller: HubCallerClientsImpl<unknown> | undefined = undefined;
  private callerContext: CallerContext | undefined = undefined;
  /** The connection's calls (made on its first message after the handshake: idle connections stay small). */
  private calls: InvocationRunner | undefined = undefined;
  /** Invocations are held until onConnected has completed. */
  private started = false;
  /** How far the connection's start got, and its end undid: the lifetime manager has it, then the hub has run onConnected. */
  private connectedTo: "nothing" | "lifetime" | "hub" = "nothing";
  private startup: Promise<void> | undefined = undefined;
  /** The start of a handshake whose record separator has not arrived yet (it may span frames or POSTs). */
  private partialHandshake: string | Uint8Array | undefined = undefined;
  private closeError: Error | undefined;
  private resolveFinished: (() => void) | undefined;
  /** Made when the user's authentication expiry is first known (closeOnAuthenticationExpiration). */
  private expiryTimer: ExpiryTimer | undefined;

  constructor(
    private readonly runtime: HubRuntime,
    transport: TransportConnection,
  ) {
    this.connection = new HubConnection(transport, runtime.connectionOptions, runtime.heartbeat, this);
    this.connection.userIdentifier = transport.userId; // derived when the request was authenticated
  }

  /**
   * A connection that moved here from another server (see letGo there): its hub has run
   * onConnected already, and onDisconnected runs here when it ends.
   */
  static movedIn(runtime: HubRuntime, transport: TransportConnection, moved: SessionHandoff, moves: LifetimeMoves): ConnectionSession {
    const protocol = runtime.protocols.get(moved.protocol.toLowerCase());
    if (!protocol) throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", `The hub does not speak protocol '${moved.protocol}' here.`);
    const session = new ConnectionSession(runtime, transport);
    const { connection } = session;
    connection.movedIn(protocol, moved.buffer, runtime.options.statefulReconnectBufferSize);
    for (const [key, value] of arrivedItems(moved.items)) connection.items.set(key, value);
    moves.adopt(connection, moved.lifetime);
    session.started = true;
    session.connectedTo = "hub";
    return session;
  }

  /** Whether the connection can move to another server (see HubConnection.movable). */
  get movable(): boolean {
    return this.started && this.connection.movable;
  }

  /**
   * Gets the connection ready to be handed over to another server that prepared for it (see
   * LifetimeMoves): its calls still running may finish first (up to `settleMs`, then they are
   * cancelled), so their results go with it; then the backplane is fenced. Nothing is let go
   * yet (see letGo).
   */
  async readyToMove(plan: HandoffPlan, moves: LifetimeMoves, settleMs: number): Promise<void> {
    this.connection.failClientResults();
    if (this.calls && !(await this.calls.idle(settleMs))) {
      this.calls.cancelAll();
      await this.calls.idle(settleMs);
    }
    await moves.fence(this.connection, plan);
  }

  /** Why letGo would fail now (the connection ended, or joined a group the plan did not name), or undefined. */
  cannotLetGo(plan: HandoffPlan, moves: LifetimeMoves): Error | undefined {
    if (!this.movable) return new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The connection ended while it moved.");
    return moves.cannotRelease(this.connection, plan);
  }

  /**
   * A move's last step, after readyToMove: the connection ends here with no onDisconnected (it
   * runs where the connection arrives) and what goes with it is returned. Throws, having
   * changed nothing, for what cannotLetGo tells.
   */
  letGo(plan: HandoffPlan, moves: LifetimeMoves): SessionHandoff {
    const refusal = this.cannotLetGo(plan, moves);
    if (refusal) throw refusal;
    // From here to the return, nothing may wait: what the lifetime manager and the buffer hand over is one moment.
    const lifetime = moves.release(this.connection, plan);
    const { protocol, buffer } = this.connection.moveAway();
    const { moved: items, left } = this.connection.itemsToMove();
    if (left.length > 0) this.runtime.log.write(dispatchLog.itemsLeftBehind, { ...this.logFields, keys: left });
    this.runtime.forget(this);
    this.calls?.clear();
    this.isFinished = true;
    this.resolveFinished?.();
    return items.length > 0 ? { protocol, buffer, lifetime, items } : { protocol, buffer, lifetime };
  }

  /** The hub's view of the connection (see CallerView): made when a hub or a filter first reads it. */
  get context(): CallerContext {
    return (this.callerContext ??= new CallerContext(this.connection));
  }

  /** What every log line about this connection carries (made when first logged: most never are). */
  get logFields(): { hub: string; connectionId: string } {
    return (this.fields ??= { hub: this.runtime.descriptor.name, connectionId: this.connection.connectionId });
  }

  get hasFinished(): boolean {
    return this.isFinished;
  }

  /** What keeps the session from finishing, for the log of a close that stopped waiting for it. */
  get waitingFor(): string {
    if (this.startup) return "onConnected";
    return this.connectedTo === "hub" ? "onDisconnected" : "the lifetime manager's onDisconnected";
  }

  /** Settles once onDisconnected has run and the lifetime manager has forgotten the connection. */
  get finished(): Promise<void> {
    if (this.isFinished) return Promise.resolve();
    return (this.finishedPromise ??= new Promise((resolve) => (this.resolveFinished = resolve)));
  }

  get clients(): HubCallerClientsImpl<unknown> {
    return (this.clientsOfCaller ??= new HubCallerClientsImpl(this.runtime.sends, this.connection.connectionId));
  }

  onData(connection: HubConnection, data: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void {
    // A multiplexed hub's envelope in its frame (see ConnectionReceiver.onData): a protocol that
    // reads parts reads it in place; the handshake and any other protocol get it alone.
    if (start !== undefined && !(connection.handshakeComplete && connection.protocol?.readsParts)) {
      return this.onData(connection, (data as string).slice(start, end), viewOf(utf8!, start, end! - start));
    }
    if (!connection.handshakeComplete) return this.handshake(data);
    const waiting = readsWaiting(this);
    if (waiting) return void waiting.push({ data, utf8, start, end });
    this.receive(data, utf8, start, end);
  }

  /** The hub's heartbeat checks its sessions (see HubRuntime): the connection's keep-alive and timeouts. */
  onHeartbeat(now: number): void {
    this.connection.onHeartbeat(now);
  }

  onTimeout(_connection: HubConnection, reason: "handshake" | "client"): void {
    const { options } = this.runtime;
    if (reason === "handshake") return void refuseHandshake(this.runtime, this, errorTexts.handshakeCanceled, "no handshake within handshakeTimeout");
    // A stateful connection's socket went silent: drop it and wait for the client to come back.
    if (this.connection.transport.displaceTransport()) {
      this.runtime.log.write(dispatchLog.clientSilent, this.logFields);
      return;
    }
    const error = new Error(errorTexts.clientTimeout(options.clientTimeoutInterval));
    error.name = "TimeoutException";
    this.closeWithError(error);
  }

  /**
   * A WebSocket message or POST too large for the transport to take: the same end as a message
   * over maximumReceiveMessageSize, whatever the size and the transport.
   */
  onTooLarge(_connection: HubConnection, limit: number): void {
    if (!this.connection.handshakeComplete) return void refuseHandshake(this.runtime, this, errorTexts.handshakeCanceled, `more than ${limit} bytes`);
    this.closeWithError(messageTooLarge(this.runtime.options.maximumReceiveMessageSize ?? limit));
  }

  onClose(_connection: HubConnection, error?: Error): void {
    this.runtime.forget(this);
    this.calls?.clear();
    const { log } = this.runtime;
    if (log.enabled(dispatchLog.connectionClosed)) {
      const why = this.closeError ?? error;
      log.write(dispatchLog.connectionClosed, why ? { ...this.logFields, error: why } : { ...this.logFields, reason: "ended normally" });
    }
    this.runtime.telemetry?.connectionClosed(this.connection.transport, this.closeError ?? error);
    void this.finish(this.closeError ?? error);
  }

  onSuspended(_connection: HubConnection, error: Error | undefined): void {
    this.runtime.log.write(dispatchLog.connectionSuspended, error ? { ...this.logFields, error } : this.logFields);
  }

  onListenerThrew(_connection: HubConnection, error: unknown): void {
    this.runtime.log.write(dispatchLog.abortListenerThrew, { ...this.logFields, error });
  }

  onResumed(connection: HubConnection): void {
    this.runtime.log.write(dispatchLog.connectionResumed, this.logFields);
    this.runtime.lifetime.moves?.resumed?.(connection);
  }

  /**
   * A later request changed the user's authentication: the hub's onAuthenticationRefreshed runs
   * through the filters, once onConnected has completed. What it throws is logged only.
   */
  async onAuthenticationRefreshed(connection: HubConnection): Promise<void> {
    if (!this.started) await this.startup;
    if (!this.started || connection.isClosing) return;
    try {
      await this.runtime.filters.authenticationRefreshed(lifetimeCall(this.createHub()));
    } catch (error) {
      this.runtime.log.write(dispatchLog.onAuthenticationRefreshedFailed, { ...this.logFields, error });
    }
  }

  /**
   * Whether a later request's fresh authentication may change the connection's: the hub's
   * acceptAuthenticationRefresh decides (a throw refuses it, logged); without one, it may.
   */
  async acceptsRefresh(connection: HubConnection, user: unknown, expiresAt: number | undefined, request: ConnectionRequest): Promise<boolean> {
    const accept = this.runtime.options.acceptAuthenticationRefresh;
    if (!accept) return true;
    try {
      return (await accept({ connectionId: connection.connectionId, previousUser: connection.user, user, expiresAt, request })) === true;
    } catch (error) {
      this.runtime.log.write(dispatchLog.acceptRefreshThrew, { ...this.logFields, error });
      return false;
    }
  }

  /** The user's authentication expiry became known or changed (see closeOnExpiry). */
  authExpiryChanged(): void {
    (this.expiryTimer ??= new ExpiryTimer(this, this.connection.transport)).schedule();
  }

  /**
   * Ends the connection for `why` (its onDisconnected gets it) with a Close that tells its client
   * to come back (`allowReconnect`) and no error text, as ASP.NET Core closes a connection whose
   * authentication ended: a client that reconnects by itself does so with a fresh token.
   */
  closeForReconnect(why: Error, event: LogEvent): void {
    this.runtime.log.write(event, { ...this.logFields, error: why });
    this.closeError ??= why;
    this.connection.close({ type: MessageType.Close, allowReconnect: true });
  }

  /** Closes the connection with a Close message that carries an error (any thrown value will do). */
  closeWithError(error: unknown, event: LogEvent = dispatchLog.connectionFaulted): void {
    const { log, options } = this.runtime;
    log.write(event, { ...this.logFields, error });
    this.closeError ??= asError(error);
    const detail = detailFor(error, options.enableDetailedErrors);
    this.connection.close({ type: MessageType.Close, error: errorTexts.connectionClosedWithError(detail) });
  }

  private handshake(chunk: string | Uint8Array): void {
    const data = this.partialHandshake === undefined ? chunk : joinData(this.partialHandshake, chunk);
    this.partialHandshake = undefined;
    const max = this.runtime.options.maximumReceiveMessageSize;
    const whole = typeof data === "string" ? data.includes(RECORD_SEPARATOR) : data.includes(RECORD_SEPARATOR_CODE);
    // Kept until its separator comes, as ASP.NET Core does; one past the size limit is refused below.
    if (!whole && (max === null || byteLength(data) <= max)) {
      this.partialHandshake = data;
      return;
    }
    const answered = answerHandshake(this.runtime, this, data);
    if (!answered) return;
    this.connection.transport.transport?.settle?.();
    if (answered.remaining !== undefined) this.receive(answered.remaining);
    // Kept only while it runs: finish() must wait for it, an idle connection need not hold it.
    const startup = this.start().finally(() => {
      if (this.startup === startup) this.startup = undefined;
    });
    this.startup = startup;
  }

  private async start(): Promise<void> {
    const { runtime, connection } = this;
    try {
      await runtime.lifetime.onConnected(connection);
      this.connectedTo = "lifetime";
      if (connection.isClosing) return;
      const hub = this.createHub();
      await runtime.filters.connected(lifetimeCall(hub));
      this.connectedTo = "hub";
    } catch (error) {
      // Never with allowReconnect: a hub that cannot start will not start on a retry either.
      return this.closeWithError(error, dispatchLog.onConnectedFailed);
    }
    if (connection.isClosing) return;
    this.started = true;
    this.calls?.start();
  }

  /**
   * A read's messages, a turn's worth at a time: past `turnBytes`, the rest waits for the event
   * loop's next turn, the other clients' reads going first, and the client is not read meanwhile.
   */
  private receive(data: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void {
    const { connection } = this;
    // A long-polling POST has no frame type, and the .NET client names no Content-Type: its bytes
    // are read by the protocol, as ASP.NET Core does.
    if (typeof data === "string" && utf8 && connection.protocol!.transferFormat === "Binary" && connection.transportName === "LongPolling") {
      data = utf8;
      utf8 = undefined;
    }
    const turn = splitTurn(data, utf8, start, end);
    if (!turn) return this.receiveRecords(data, utf8, start, end);
    this.receiveRecords(turn.now.data, turn.now.utf8, turn.now.start, turn.now.end);
    waitTurn(this, connection, turn.rest, (read) => this.receive(read.data, read.utf8, read.start, read.end));
  }

  private receiveRecords(data: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void {
    const { runtime, connection } = this;
    const protocol = connection.protocol!;
    connection.beginBatch();
    let messages: HubMessage[];
    try {
      messages = protocol.parseMessages(data, {
        maximumMessageSize: runtime.options.maximumReceiveMessageSize,
        utf8,
        start,
        end,
      });
    } catch (error) {
      return this.closeWithError(error);
    }
    // A part's bytes are its characters (see ConnectionReceiver.onData).
    const partBytes = start === undefined ? undefined : end! - start;
    runtime.telemetry?.received(protocol.name, partBytes ?? receivedBytes(data, utf8), messages.length);
    // Made for the first read that holds a call: a connection that only pings stays small.
    const calls = this.calls ?? (messages.some(isInvocation) ? (this.calls = new InvocationRunner(runtime, this, this.started)) : undefined);
    calls?.beginRead(data, utf8, messages.length, partBytes);
    for (const message of messages) {
      if (this.connection.isClosing) break;
      this.dispatch(message, calls);
    }
    calls?.endRead();
  }

  /** `calls` is there whenever `message` is an invocation. */
  private dispatch(message: HubMessage, calls: InvocationRunner | undefined): void {
    if (isTrackable(message.type) && !this.connection.receivedTrackable()) return; // sent again after a reconnect
    switch (message.type) {
      case MessageType.Invocation:
      case MessageType.StreamInvocation:
        return calls!.accept(message);
      case MessageType.StreamItem:
        if (!calls?.streamItem(message.invocationId, message.item)) this.ignored(message.type, message.invocationId);
        return;
      case MessageType.Completion:
        if (!this.connection.completeClientResult(message) && !calls?.completeUpload(message)) this.ignored(message.type, message.invocationId);
        return;
      case MessageType.CancelInvocation:
        if (!calls?.cancel(message.invocationId)) this.ignored(message.type, message.invocationId);
        return;
      case MessageType.Close:
        // The client is stopping: answered with a Close, as ASP.NET Core does (clients ignore it).
        this.connection.close({ type: MessageType.Close });
        return;
      case MessageType.Ack:
        return this.connection.acknowledged(message.sequenceId);
      case MessageType.Sequence:
        try {
          return this.connection.resequence(message.sequenceId);
        } catch (error) {
          return this.closeWithError(error);
        }
      case MessageType.Ping:
        return; // Any message already reset the client timeout.
    }
  }

  /** A message for an invocation or upload this connection does not have (over, or never made). */
  private ignored(type: number, invocationId: string): void {
    this.runtime.log.write(dispatchLog.ignoredMessage, { ...this.logFields, type, invocationId });
  }

  /**
   * The hub's onDisconnected (once its onConnected has run), then the lifetime manager forgets
   * the connection. An onConnected still running `closeTimeoutMs` after the close is hub code
   * that may never settle: the manager then forgets the connection at once, so that it does not
   * keep it (its groups, its user) for good; what that code does to it later finds it gone.
   */
  private async finish(error: Error | undefined): Promise<void> {
    const { runtime } = this;
    let forgotten = false;
    if (this.startup && !(await settlesWithin(this.startup, runtime.closeTimeoutMs))) {
      runtime.log.write(dispatchLog.onConnectedOutlived, { ...this.logFields, waitedMs: runtime.closeTimeoutMs });
      // Forgetting a connection the manager is still taking in could leave it there after all.
      if (this.connectedTo !== "nothing") {
        await this.forget();
        forgotten = true;
      }
      await this.startup;
    }
    // A copy rebuilt here for a server that had only paused: the hub's connection lives on there.
    if (this.connectedTo === "hub" && runtime.lifetime.moves?.livesElsewhere?.(this.connection)) {
      runtime.log.write(dispatchLog.copyEnded, this.logFields);
      this.connectedTo = "lifetime";
    }
    if (this.connectedTo === "hub") {
      try {
        const hub = this.createHub();
        await runtime.filters.disconnected(lifetimeCall(hub), error);
      } catch (failure) {
        runtime.log.write(dispatchLog.onDisconnectedFailed, { ...this.logFields, error: failure });
      }
      this.connectedTo = "lifetime"; // its onDisconnected has run
    }
    if (!forgotten) await this.forget();
    this.isFinished = true;
    this.resolveFinished?.();
  }

  /** The lifetime manager forgets the connection; a failure is logged. */
  private async forget(): Promise<void> {
    try {
      await this.runtime.lifetime.onDisconnected(this.connection);
    } catch (failure) {
      this.runtime.log.write(dispatchLog.lifetimeForgetFailed, { ...this.logFields, error: failure });
    }
  }

  private createHub(): Hub<unknown> {
    return this.runtime.createHub(this, new ConnectionScope(this.connection));
  }
}

function isInvocation(message: HubMessage): boolean {
  return message.type === MessageType.Invocation || message.type === MessageType.StreamInvocation;
}

/** Two pieces of a payload as one: text when both are text, else bytes. */
function joinData(first: string | Uint8Array, second: string | Uint8Array): string | Uint8Array {
  if (typeof first === "string" && typeof second === "string") return first + second;
  const a = typeof first === "string" ? encodeUtf8(first) : first;
  const b = typeof second === "string" ? encodeUtf8(second) : second;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** Bytes a client sent in one message: text counted in UTF-8. */
function receivedBytes(data: string | Uint8Array, utf8: Uint8Array | undefined): number {
  return utf8 ? utf8.byteLength : typeof data === "string" ? byteLength(data) : data.byteLength;
}

/**
 * What the lifetime filters are given: the caller's context is made only if one of them reads it
 * (an own property, so that a filter's `{ ...context }` keeps it).
 */
function lifetimeCall(hub: Hub<unknown>): HubLifetimeContext {
  return {
    hub,
    get context(): HubCallerContext {
      return hub.context;
    },
  };
}
