import { HubConnection, type HubConnectionEvents } from "../connection/hub-connection.js";
import { HubwireError } from "../errors.js";
import type { HandoffPlan, LifetimeHandoff } from "../lifetime/connection-handoff.js";
import type { LifetimeMoves } from "../lifetime/hub-lifetime-manager.js";
import type { MessageBufferState } from "../connection/movable-message-buffer.js";
import { isTrackable } from "../protocol/message-buffer.js";
import type { Hub } from "../hubs/hub.js";
import { errorCompletion, MessageType, type CompletionMessage, type HubMessage } from "../protocol/messages.js";
import { RECORD_SEPARATOR, RECORD_SEPARATOR_CODE } from "../protocol/text-framing.js";
import { byteLength, encodeUtf8 } from "../protocol/utf8.js";
import type { TransportConnection } from "../transports/transport-connection.js";
import type { LogEvent } from "../logger.js";
import { messageTooLarge } from "../protocol/protocol-error.js";
import { asError } from "../thrown-value.js";
import { ExpiryTimer } from "./authentication-expiry.js";
import { CallerContext } from "./caller-context.js";
import { HubCallerClientsImpl } from "./client-targets.js";
import { dispatchLog } from "./dispatch-log.js";
import { detailFor, errorTexts } from "./error-texts.js";
import { answerHandshake, refuseHandshake } from "./handshake-answer.js";
import type { HubRuntime } from "./hub-runtime.js";
import { ConnectionScope, InvocationScope } from "./invocation-scope.js";
import { InvocationQueue } from "./invocation-queue.js";
import { invoke, type HubInvocation, type InvocationWork } from "./invoker.js";
import { limitTexts } from "./limit-texts.js";
import { UploadStream } from "./upload-stream.js";

/** What a connection takes with it to the server it moves to. */
export interface SessionHandoff {
  protocol: string;
  buffer: MessageBufferState;
  lifetime: LifetimeHandoff;
}

/**
 * One connection's life in a hub: handshake, onConnected, the message loop, onDisconnected.
 * Invocations run in arrival order, at most `maximumParallelInvocationsPerClient` at once; other
 * messages (pings, cancels, completions) are handled as they arrive so they never wait behind a
 * busy invocation (a hub awaiting its caller's answer must not deadlock the connection).
 */
export class ConnectionSession implements HubConnectionEvents {
  readonly connection: HubConnection;
  readonly context: CallerContext;
  private fields: { hub: string; connectionId: string } | undefined;
  private finishedPromise: Promise<void> | undefined;
  private isFinished = false;
  // Set for every connection that completes its handshake: defined here, in the object itself (see HubConnection).
  private clientsOfCaller: HubCallerClientsImpl<unknown> | undefined = undefined;
  /** Invocations waiting their turn, bounded (made on first use). */
  private pending: InvocationQueue | undefined = undefined;
  /** The data being read and how many messages it held: a queued invocation's size is its share. */
  private readingData: string | Uint8Array = "";
  private readingUtf8: Uint8Array | undefined = undefined;
  private readingCount = 1;
  /** readingShare() of the data being read, once computed (-1 until then): text is measured once per read. */
  private readingShareBytes = -1;
  /** Invocations with an id that are queued or still running, for CancelInvocation (made on first use: idle connections stay small). */
  private scopes: Map<string, InvocationScope> | undefined;
  /** Open upload streams by stream id (made on first use). */
  private uploads: Map<string, UploadStream> | undefined;
  /** Server streams accepted and not yet ended, against maximumStreamsPerClient. */
  private streams = 0;
  private running = 0;
  private draining = false;
  /** Invocations are held until onConnected has completed. */
  private started = false;
  private hubConnected = false;
  private startup: Promise<void> | undefined = undefined;
  /** The start of a handshake whose record separator has not arrived yet (it may span frames or POSTs). */
  private partialHandshake: string | Uint8Array | undefined = undefined;
  private closeError: Error | undefined;
  private resolveFinished: (() => void) | undefined;
  /** Made when the user's authentication expiry is first known (closeOnAuthenticationExpiration). */
  private expiryTimer: ExpiryTimer | undefined;
  /** Told when the last invocation ends (a connection about to move waits for it). */
  private idleWaiter: (() => void) | undefined;

  constructor(
    private readonly runtime: HubRuntime,
    transport: TransportConnection,
  ) {
    this.connection = new HubConnection(transport, runtime.connectionOptions, runtime.heartbeat, this);
    this.context = new CallerContext(this.connection);
    this.connection.userIdentifier = transport.userId; // derived when the request was authenticated
  }

  /**
   * A connection that moved here from another server (see moveAway there): its hub has run
   * onConnected already, and onDisconnected runs here when it ends.
   */
  static movedIn(runtime: HubRuntime, transport: TransportConnection, moved: SessionHandoff, moves: LifetimeMoves): ConnectionSession {
    const protocol = runtime.protocols.get(moved.protocol.toLowerCase());
    if (!protocol) throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", `The hub does not speak protocol '${moved.protocol}' here.`);
    const session = new ConnectionSession(runtime, transport);
    const { connection } = session;
    connection.movedIn(protocol, moved.buffer, runtime.options.statefulReconnectBufferSize);
    moves.adopt(connection, moved.lifetime);
    session.started = true;
    session.hubConnected = true;
    return session;
  }

  /** Whether the connection can move to another server (see HubConnection.movable). */
  get movable(): boolean {
    return this.started && this.connection.movable;
  }

  /**
   * Hands the connection over to another server that prepared for it (see LifetimeMoves). Its
   * calls still running may finish first (up to `settleMs`, then they are cancelled), so their
   * results go with it; then, once the backplane is fenced, it ends here with no onDisconnected.
   */
  async moveAway(plan: HandoffPlan, moves: LifetimeMoves, settleMs: number): Promise<SessionHandoff> {
    this.connection.failClientResults();
    if (!(await this.idle(settleMs))) {
      for (const scope of this.scopes?.values() ?? []) scope.cancel();
      await this.idle(settleMs);
    }
    await moves.fence(this.connection, plan);
    if (!this.movable) throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The connection ended while it moved.");
    // From here to the return, nothing may wait: what the lifetime manager and the buffer hand over is one moment.
    const lifetime = moves.release(this.connection, plan);
    const { protocol, buffer } = this.connection.moveAway();
    this.runtime.sessions.delete(this.connection.transport);
    if (this.pending) for (const work of this.pending.clear()) this.release(work);
    if (this.uploads) for (const upload of this.uploads.values()) upload.discard();
    this.uploads = undefined;
    this.isFinished = true;
    this.resolveFinished?.();
    return { protocol, buffer, lifetime };
  }

  /** Resolves true once no invocation runs or waits, false if that takes more than `ms`. */
  private idle(ms: number): Promise<boolean> {
    const busy = () => this.running > 0 || this.streams > 0 || (this.uploads?.size ?? 0) > 0 || (this.pending?.length ?? 0) > 0;
    if (!busy()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiter = undefined;
        resolve(false);
      }, ms);
      this.idleWaiter = () => {
        if (busy()) return;
        clearTimeout(timer);
        this.idleWaiter = undefined;
        resolve(true);
      };
    });
  }

  /** What every log line about this connection carries (made when first logged: most never are). */
  get logFields(): { hub: string; connectionId: string } {
    return (this.fields ??= { hub: this.runtime.descriptor.name, connectionId: this.connection.connectionId });
  }

  /** Settles once onDisconnected has run and the lifetime manager has forgotten the connection. */
  get finished(): Promise<void> {
    if (this.isFinished) return Promise.resolve();
    return (this.finishedPromise ??= new Promise((resolve) => (this.resolveFinished = resolve)));
  }

  get clients(): HubCallerClientsImpl<unknown> {
    return (this.clientsOfCaller ??= new HubCallerClientsImpl(this.runtime.sends, this.connection.connectionId));
  }

  onData(_connection: HubConnection, data: string | Uint8Array, utf8?: Uint8Array): void {
    if (!this.connection.handshakeComplete) return this.handshake(data);
    this.receive(data, utf8);
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
    this.runtime.sessions.delete(this.connection.transport);
    if (this.pending) for (const work of this.pending.clear()) this.release(work);
    if (this.uploads) for (const upload of this.uploads.values()) upload.discard();
    this.uploads = undefined;
    const { log } = this.runtime;
    if (log.enabled(dispatchLog.connectionClosed)) {
      const why = this.closeError ?? error;
      log.write(dispatchLog.connectionClosed, why ? { ...this.logFields, error: why } : { ...this.logFields, reason: "ended normally" });
    }
    this.runtime.telemetry?.connectionClosed(this.connection.transport, this.closeError ?? error);
    void this.finish(this.closeError ?? error);
  }

  /** The user's authentication expiry became known or changed (see closeOnExpiry). */
  authExpiryChanged(): void {
    (this.expiryTimer ??= new ExpiryTimer(this, this.connection.transport)).schedule();
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
      if (connection.isClosing) return;
      const hub = this.createHub();
      await runtime.filters.connected({ hub, context: hub.context });
      this.hubConnected = true;
    } catch (error) {
      // Never with allowReconnect: a hub that cannot start will not start on a retry either.
      return this.closeWithError(error, dispatchLog.onConnectedFailed);
    }
    if (connection.isClosing) return;
    this.started = true;
    this.drain();
  }

  private receive(data: string | Uint8Array, utf8?: Uint8Array): void {
    const { runtime, connection } = this;
    const protocol = connection.protocol!;
    // A long-polling POST has no frame type, and the .NET client names no Content-Type: its bytes
    // are read by the protocol, as ASP.NET Core does.
    const binaryPost = typeof data === "string" && utf8 && protocol.transferFormat === "Binary" && connection.transportName === "LongPolling";
    connection.beginBatch();
    let messages: HubMessage[];
    try {
      messages = protocol.parseMessages(binaryPost ? utf8 : data, {
        maximumMessageSize: runtime.options.maximumReceiveMessageSize,
        utf8,
      });
    } catch (error) {
      return this.closeWithError(error);
    }
    runtime.telemetry?.received(protocol.name, data, utf8, messages.length);
    this.readingData = data;
    this.readingUtf8 = utf8;
    this.readingCount = messages.length;
    this.readingShareBytes = -1;
    for (const message of messages) {
      if (this.connection.isClosing) break;
      this.dispatch(message);
    }
    this.readingData = "";
    this.readingUtf8 = undefined;
    this.readingShareBytes = -1;
  }

  private dispatch(message: HubMessage): void {
    if (isTrackable(message.type) && !this.connection.receivedTrackable()) return; // sent again after a reconnect
    switch (message.type) {
      case MessageType.Invocation:
      case MessageType.StreamInvocation:
        return this.accept(message);
      case MessageType.StreamItem: {
        const upload = this.uploads?.get(message.invocationId);
        if (upload) upload.push(message.item);
        else this.ignored(message.type, message.invocationId);
        return;
      }
      case MessageType.Completion:
        return this.completion(message);
      case MessageType.CancelInvocation: {
        const scope = this.scopes?.get(message.invocationId);
        if (scope) scope.cancel();
        else this.ignored(message.type, message.invocationId);
        return;
      }
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

  /** An invocation arrives: its scope and upload streams exist from now on, even while it waits its turn. */
  private accept(message: HubInvocation): void {
    const { connection } = this;
    const id = message.invocationId;
    if (id !== undefined && this.scopes?.has(id)) {
      connection.write(errorCompletion(id, errorTexts.invocationIdInUse(id)));
      return;
    }
    const { options } = this.runtime;
    const stream = message.type === MessageType.StreamInvocation;
    if (stream && this.streams >= options.maximumStreamsPerClient) {
      return this.refuse(message, dispatchLog.tooManyStreams, limitTexts.tooManyStreams(message.target, options.maximumStreamsPerClient));
    }
    let uploads: UploadStream[] | undefined;
    if (message.streamIds) {
      const { maximumUploadStreamsPerClient: maxUploads } = options;
      if ((this.uploads?.size ?? 0) + message.streamIds.length > maxUploads) {
        return this.refuse(message, dispatchLog.tooManyUploadStreams, limitTexts.tooManyUploadStreams(message.target, maxUploads));
      }
      const capacity = this.runtime.options.streamBufferCapacity;
      uploads = message.streamIds.map((streamId) => {
        const upload = new UploadStream(capacity, connection.transport);
        const uploads = (this.uploads ??= new Map());
        uploads.get(streamId)?.discard();
        uploads.set(streamId, upload);
        return upload;
      });
    }
    if (stream) this.streams++;
    const scope = new InvocationScope(connection, id);
    const background = stream || uploads !== undefined;
    const work: InvocationWork = { message, scope, uploads, background };
    if (this.started && !this.pending?.length && (background || this.running < options.maximumParallelInvocationsPerClient)) {
      this.startInvocation(work);
    } else {
      this.track(work);
      this.pending ??= new InvocationQueue(
        options.maximumQueuedInvocationsPerClient,
        options.maximumQueuedInvocationBytesPerClient,
        connection.transport,
      );
      this.pending.push(work, this.readingShare());
    }
  }

  /** The bytes a queued invocation stands for: its share of the data it arrived in. */
  private readingShare(): number {
    if (this.readingShareBytes < 0) {
      const bytes = this.readingUtf8 ? this.readingUtf8.byteLength : byteLength(this.readingData);
      this.readingShareBytes = Math.ceil(bytes / Math.max(1, this.readingCount));
    }
    return this.readingShareBytes;
  }

  /**
   * An invocation past one of the connection's bounds (server streams, upload streams) fails
   * alone, with `text`; the items of its upload streams are ignored.
   */
  private refuse(message: HubInvocation, event: LogEvent, text: string): void {
    this.runtime.log.write(event, { ...this.logFields, method: message.target });
    if (message.invocationId !== undefined) this.connection.write(errorCompletion(message.invocationId, text));
  }

  /**
   * Makes an invocation findable by its id, for CancelInvocation and the id-in-use check. Only
   * invocations that wait or run past the message that started them need it: one that completes
   * within `invoke` is over before the next message is read, and leaving it out saves a map
   * insert and delete per call (a map that empties shrinks, and grows again on the next call).
   */
  private track(work: InvocationWork): void {
    const id = work.message.invocationId;
    if (id !== undefined) (this.scopes ??= new Map()).set(id, work.scope);
  }

  private completion(message: CompletionMessage): void {
    if (this.connection.completeClientResult(message)) return;
    const upload = this.uploads?.get(message.invocationId);
    if (!upload) return this.ignored(message.type, message.invocationId);
    this.uploads!.delete(message.invocationId);
    upload.complete(message.error);
  }

  private ignored(type: number, invocationId: string): void {
    this.runtime.log.write(dispatchLog.ignoredMessage, { ...this.logFields, type, invocationId });
  }

  private startInvocation(work: InvocationWork): void {
    if (!work.background) this.running++;
    const pending = invoke(this.runtime, this, work);
    if (pending) {
      this.track(work);
      pending.then(
        () => this.invocationDone(work),
        (error: unknown) => {
          // invoke() catches whatever a hub throws; this is a fault of hubwire's own, and the
          // connection must go on serving its other calls all the same.
          this.runtime.log.write(dispatchLog.invocationRejected, { ...this.logFields, method: work.message.target, error });
          this.invocationDone(work);
        },
      );
    } else this.invocationDone(work);
  }

  private invocationDone(work: InvocationWork): void {
    this.release(work);
    if (!work.background) {
      this.running--;
      this.drain();
    }
    this.idleWaiter?.();
  }

  /** Forgets an invocation's scope and completes the upload streams it left open. */
  private release(work: InvocationWork): void {
    const { message, scope, uploads } = work;
    if (message.type === MessageType.StreamInvocation) this.streams--;
    if (message.invocationId !== undefined && this.scopes?.get(message.invocationId) === scope) {
      this.scopes.delete(message.invocationId);
    }
    scope.dispose();
    if (!uploads) return;
    message.streamIds!.forEach((streamId, i) => {
      if (this.uploads?.get(streamId) === uploads[i]) this.uploads.delete(streamId);
    });
    for (const upload of uploads) upload.discard();
  }

  private drain(): void {
    if (this.draining) return; // a synchronous invocation finished inside the loop below
    this.draining = true;
    const limit = this.runtime.options.maximumParallelInvocationsPerClient;
    const pending = this.pending;
    while (this.started && pending && pending.length > 0 && !this.connection.isClosing) {
      if (!pending.peek()!.background && this.running >= limit) break;
      this.startInvocation(pending.shift()!);
    }
    this.draining = false;
  }

  private async finish(error: Error | undefined): Promise<void> {
    const { runtime, connection } = this;
    await this.startup;
    if (this.hubConnected) {
      try {
        const hub = this.createHub();
        await runtime.filters.disconnected({ hub, context: hub.context }, error);
      } catch (failure) {
        runtime.log.write(dispatchLog.onDisconnectedFailed, { ...this.logFields, error: failure });
      }
    }
    try {
      await runtime.lifetime.onDisconnected(connection);
    } catch (failure) {
      runtime.log.write(dispatchLog.lifetimeForgetFailed, { ...this.logFields, error: failure });
    }
    this.isFinished = true;
    this.resolveFinished?.();
  }

  private createHub(): Hub<unknown> {
    return this.runtime.createHub(this, new ConnectionScope(this.connection));
  }
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
