import { writeHandshakeRequest } from "../src/protocol/handshake.js";
import { textOf } from "../src/protocol/thrown-value.js";
import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { jsonHubProtocol } from "../src/protocol/json-protocol.js";
import { MessageType, type HubMessage, type InvocationMessage } from "../src/protocol/messages.js";
import { AuthenticationRefresher } from "./authentication-refresh.js";
import { ClientHandlers, type Handler } from "./client-handlers.js";
import { CallsInFlight, HeldCalls } from "./calls-in-flight.js";
import { HubClientError, messages, resumeRefused, stoppedBeforeConnected } from "./errors.js";
import { defaultRequestTimeoutMs, type HttpSettings } from "./http.js";
import { HandshakeWait } from "./handshake-wait.js";
import { HubCalls } from "./hub-calls.js";
import type { HubStream } from "./hub-stream.js";
import { KeepAlive } from "./keep-alive.js";
import type { HubConnectionOptions } from "./connection-options.js";
import { ConnectionEvents, type RetryEvent } from "./connection-events.js";
import { consoleLogger, guardedLogger, type Logger } from "./logger.js";
import { RetryLoop, type RetryHost } from "./retry-loop.js";
import { reattach, type ReattachHost } from "./reattach.js";
import { openTransport, type StartedTransport } from "./start-transport.js";
import { defaultReattachWindowMs, StatefulLink } from "./stateful-link.js";
import type { ClientTransport, TransportEvents } from "./transports/transport.js";

export type ConnectionState = "Disconnected" | "Connecting" | "Connected" | "Reconnecting" | "Disconnecting";
export type { HubConnectionOptions };

/**
 * A connection to a hub: calls, streams both ways, client functions the server calls, and
 * reconnection that loses no call made while the network was away.
 *
 * @example
 * const connection = new HubConnection("/hubs/chat", { accessTokenFactory: () => token });
 * connection.on("message", (from: string, text: string) => show(from, text));
 * await connection.start();
 * await connection.invoke("Send", "hello");
 */
export class HubConnection {
  state: ConnectionState = "Disconnected";
  /** The public connection id (null before the first connect, or with skipNegotiation). */
  connectionId: string | null = null;
  private readonly protocol: HubProtocol;
  private readonly http: HttpSettings;
  private readonly retries: RetryLoop;
  private readonly handlers: ClientHandlers;
  private readonly inFlight = new CallsInFlight();
  private readonly calls: HubCalls;
  private readonly held: HeldCalls;
  private readonly log: Logger;
  private readonly events: ConnectionEvents;
  private transport: ClientTransport | undefined;
  private nextId = 0;
  private handshake: HandshakeWait | undefined;
  private closeError: Error | undefined;
  private readonly keepAlive: KeepAlive;
  private stopRequested = false;
  /** The attempts of start() or of a reconnect, while they run: stop() waits for them to end. */
  private connecting: Promise<void> | undefined;
  /** Aborts the connection attempt in progress (its negotiate, its transport's opening). */
  private attemptAbort: AbortController | undefined;
  private stopping: Promise<void> | undefined;
  /** Stateful reconnect's bookkeeping, while the connection has it. */
  private link: StatefulLink | undefined;
  private readonly reattachHost: ReattachHost;
  private readonly refresher: AuthenticationRefresher;

  constructor(
    readonly url: string,
    private readonly options: HubConnectionOptions = {},
  ) {
    this.log = guardedLogger(options.logger ?? consoleLogger());
    this.events = new ConnectionEvents(this.log);
    this.handlers = new ClientHandlers(this.log);
    this.held = new HeldCalls(options.maxBufferedCalls ?? 1000);
    this.calls = new HubCalls({
      whenConnected: (action, reject) => this.whenConnected(action, reject),
      sendMessage: (message) => this.sendMessage(message),
      newId: () => this.newId(),
      invocationHeaders: options.invocationHeaders,
      inFlight: this.inFlight,
      log: this.log,
    });
    this.protocol = options.protocol ?? jsonHubProtocol;
    const { headers = {}, accessTokenFactory: factory } = options;
    this.http = { headers, withCredentials: options.withCredentials ?? true, token: async () => (factory ? await factory() : undefined), timeoutMs: options.requestTimeoutMs ?? defaultRequestTimeoutMs };
    this.keepAlive = new KeepAlive(
      {
        ping: () => void this.sendMessage({ type: MessageType.Ping }).catch(this.debug("Could not send a ping.")),
        timedOut: () => this.lose(new HubClientError("ERR_SERVER_TIMEOUT", messages.serverTimeout)),
      },
      options.keepAliveIntervalMs ?? 15_000,
      options.serverTimeoutMs ?? 30_000,
    );
    this.reattachHost = {
      reattachWindowMs: options.reattachWindowMs ?? defaultReattachWindowMs,
      protocol: this.protocol,
      log: this.log,
      keepAlive: this.keepAlive,
      holds: (link) => this.link === link && !this.stopRequested,
      sleep: (ms) => this.retries.sleep(ms),
      setTransport: (transport) => (this.transport = transport),
      transportEvents: (attempt) => this.transportEvents(attempt),
      lose: (cause) => this.lose(cause),
      debug: (message) => this.debug(message),
    };
    this.refresher = new AuthenticationRefresher(options.authenticationRefresh, { log: this.log, events: this.events, connected: () => this.state === "Connected" });
    const connection = this;
    const retryHost: RetryHost = {
      connectOnce: () => this.connectOnce(),
      stopRequested: () => this.stopRequested,
      get state() { return connection.state; },
      set state(state) { connection.state = state; },
      connectionId: () => this.connectionId,
      closed: (error) => this.closed(error),
      reconnected: () => this.held.runAll(), // in the order they were made
    };
    this.retries = new RetryLoop(options.reconnect, retryHost, this.events, this.log);
  }

  /**
   * Connects; with reconnection on, keeps trying per the retry policy before it gives up.
   * Rejects with `ERR_CANCELED` if stop() is called before it has connected.
   */
  async start(): Promise<void> {
    if (this.state !== "Disconnected") throw new HubClientError("ERR_NOT_CONNECTED", `Cannot start a connection that is not in the 'Disconnected' state.`);
    this.state = "Connecting";
    this.stopRequested = false;
    const attempts = this.retries.start();
    this.connecting = attempts;
    try {
      await attempts;
    } catch (error) {
      this.state = "Disconnected";
      throw error;
    } finally {
      if (this.connecting === attempts) this.connecting = undefined;
    }
  }

  /**
   * Closes the connection; calls in flight fail, held calls are dropped. Called while start()
   * or a reconnect is under way, it ends that attempt (start() rejects) and resolves once
   * nothing is left open.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    this.stopRequested = true;
    this.retries.wake();
    if (this.state === "Disconnected") return;
    if (this.state === "Reconnecting" || this.state === "Connecting") {
      const starting = this.state === "Connecting";
      this.attemptAbort?.abort(stoppedBeforeConnected());
      this.handshake?.fail(stoppedBeforeConnected());
      await this.connecting?.catch(() => {}); // start() reports its own failure to its caller
      if (!starting) this.closed(undefined); // a first start() reports by rejecting instead
      return;
    }
    this.state = "Disconnecting";
    const transport = this.transport;
    if (transport) {
      await this.sendMessage({ type: MessageType.Close }).catch(this.debug("Could not send the Close message."));
      await transport.stop().catch(this.debug("Could not stop the transport."));
    }
    this.closed(this.closeError); // the server's reason, when it had closed the connection first
  }

  /** Calls a hub method and resolves with its result. A trailing `withSignal(signal)` makes it cancellable. */
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    return this.calls.invoke<T>(method, args);
  }

  /** Calls a hub method without waiting for it (no result, no error). */
  send(method: string, ...args: unknown[]): Promise<void> {
    return this.calls.send(method, args);
  }

  /** Calls a streaming hub method; iterate the result, or subscribe to it. */
  stream<T = unknown>(method: string, ...args: unknown[]): HubStream<T> {
    return this.calls.stream<T>(method, args);
  }

  /** Registers a function the server may call; its return value answers a client-result call. Names are case-insensitive. */
  on(method: string, handler: Handler): () => void {
    this.handlers.add(method, handler);
    return () => this.handlers.remove(method, handler);
  }

  off(method: string, handler?: Handler): void {
    this.handlers.remove(method, handler);
  }

  /**
   * The connection closed for good: stopped, or lost and not reconnected. `error` says why,
   * when it was not stop(); an error with `statusCode` 401 or 403 (`ERR_UNAUTHORIZED`) means the
   * server refused the credentials, so the user should sign in again.
   */
  onClose(listener: (error?: Error) => void): () => void {
    return this.events.add("close", listener);
  }

  onReconnecting(listener: (error?: Error) => void): () => void {
    return this.events.add("reconnecting", listener);
  }

  onReconnected(listener: (connectionId: string | null) => void): () => void {
    return this.events.add("reconnected", listener);
  }

  /**
   * An attempt to connect failed and another will follow, during the first start() as during a
   * reconnect: a page can show "retrying in 5 s".
   *
   * @example
   * connection.onRetrying(({ attempt, delayMs }) => badge(`attempt ${attempt} failed, retrying in ${delayMs / 1000} s`));
   */
  onRetrying(listener: (retry: RetryEvent) => void): () => void {
    return this.events.add("retrying", listener);
  }

  /**
   * Refreshes the connection's authentication now (see HubConnectionOptions.authenticationRefresh):
   * the server makes a fresh token from `accessTokenFactory` the connection's. Resolves with how
   * long that token lasts, in whole seconds, if the server says; rejects with `ERR_UNAUTHORIZED`
   * (the server refused the token), `ERR_NOT_CONNECTED`, or `ERR_REFRESH` (any other failure:
   * the server does not serve refreshes or could not be reached, the connection was not
   * negotiated; see docs/errors.md).
   */
  refreshAuthentication(): Promise<number | undefined> {
    return this.refresher.refresh();
  }

  /** An authentication refresh succeeded, automatic or asked for: how long the new token lasts, in whole seconds, if the server said. */
  onAuthenticationRefreshed(listener: (tokenLifetimeSeconds: number | undefined) => void): () => void {
    return this.events.add("authenticationRefreshed", listener);
  }

  /** An authentication refresh failed; an automatic one is tried again while the token lasts, unless the server refused it. */
  onAuthenticationRefreshFailed(listener: (error: Error) => void): () => void {
    return this.events.add("authenticationRefreshFailed", listener);
  }

  // ---- connecting ----

  private async connectOnce(): Promise<void> {
    // Events name their attempt, so a transport that failed or was replaced cannot disturb the current one.
    const attempt: { transport?: ClientTransport } = {};
    const abort = new AbortController();
    this.attemptAbort = abort;
    let started: StartedTransport;
    try {
      started = await openTransport(this.url, this.options, this.http, this.protocol.transferFormat, this.transportEvents(attempt), abort.signal);
    } finally {
      if (this.attemptAbort === abort) this.attemptAbort = undefined;
    }
    if (this.stopRequested) {
      await started.transport.stop().catch(this.debug("Could not stop the transport."));
      throw stoppedBeforeConnected();
    }
    attempt.transport = started.transport;
    this.transport = started.transport;
    this.closeError = undefined;
    const handshake = (this.handshake = new HandshakeWait());
    let arrived: HubMessage[];
    try {
      // Version 2 of the hub protocols is the one with Ack and Sequence: it turns on the server's buffer.
      await this.transport.send(writeHandshakeRequest(this.protocol.name, started.resumable ? 2 : 1));
      await handshake.done;
      if (this.stopRequested) throw stoppedBeforeConnected(); // stop() came with the handshake's answer
      arrived = handshake.takeArrived(this.protocol);
    } catch (error) {
      handshake.fail(error as Error); // the request could not go: no timer left behind
      await started.transport.stop().catch(this.debug("Could not stop the transport."));
      this.transport = undefined;
      throw error;
    } finally {
      if (this.handshake === handshake) this.handshake = undefined;
    }
    // A hub on a shared connection learns its id while its handshake is under way.
    this.connectionId = started.connectionId ?? this.transport.connectionId ?? null;
    this.state = "Connected";
    // Polls are their own keep-alive; a hub on a shared connection has the multiplexer's.
    if (this.transport.kind !== "LongPolling" && !this.transport.keepsAlive) this.keepAlive.start();
    if (started.resumable) {
      const acknowledge = (sequenceId: number) => void this.sendMessage({ type: MessageType.Ack, sequenceId }).catch(this.debug("Could not send an Ack."));
      this.link = new StatefulLink(started.resumable, this.options.statefulReconnectBufferSize ?? 100_000, acknowledge);
    }
    this.refresher.connected(started.refresh);
    this.handle(arrived);
  }

  private stopLink(error?: Error): void {
    this.link?.close(error);
    this.link = undefined;
  }

  private onData(data: string | Uint8Array): void {
    this.keepAlive.received();
    // Until the attempt has taken the answer, what comes is the handshake's (see HandshakeWait.receive).
    if (this.handshake) return this.handshake.receive(data);
    let received: HubMessage[];
    try {
      received = this.protocol.parseMessages(data);
    } catch (error) {
      return this.lose(error as Error);
    }
    this.handle(received);
  }

  private handle(received: HubMessage[]): void {
    try {
      for (const message of received) if (!this.link || this.link.received(message)) this.dispatch(message);
    } catch (error) {
      this.lose(error as Error);
    }
  }

  private dispatch(message: HubMessage): void {
    switch (message.type) {
      case MessageType.Invocation:
        return void this.runHandlers(message);
      case MessageType.StreamItem:
        return this.inFlight.item(message.invocationId, message.item);
      case MessageType.Completion:
        return this.inFlight.complete(message);
      case MessageType.Close:
        return this.serverClosed(message.error, message.allowReconnect === true);
      default:
        return; // Ping and anything newer need no answer
    }
  }

  /** Runs the handlers of a server call; when the call has an id, the answer goes back as a Completion. */
  private async runHandlers(message: InvocationMessage): Promise<void> {
    const completion = await this.handlers.run(message);
    if (!completion) return;
    try {
      await this.sendMessage(completion);
    } catch (error) {
      this.log.warn(`Could not send the answer to the server's '${message.target}' call.`, { error });
      // A result the protocol cannot carry (a BigInt in JSON): the server hears why, not its timeout.
      if (!completion.hasResult) return;
      const { invocationId } = completion;
      await this.sendMessage({ type: MessageType.Completion, invocationId, hasResult: false, error: `The client's result could not be sent: ${textOf(error)}` }).catch(() => {});
    }
  }

  // ---- losing and regaining the connection ----

  private serverClosed(error: string | undefined, allowReconnect: boolean): void {
    const reason = error !== undefined ? new HubClientError("ERR_CLOSED_BY_SERVER", messages.closeError(error)) : undefined;
    if (allowReconnect && this.retries.reconnects) return this.lose(reason);
    this.closeError = reason;
    this.stopRequested = true;
    // Calls made while the socket closes fail at once with ERR_NOT_CONNECTED, as after stop().
    if (this.state === "Connected") this.state = "Disconnecting";
    void this.transport?.stop().catch(this.debug("Could not stop the transport."));
  }

  /** The events of `attempt`'s transport. */
  private transportEvents(attempt: { transport?: ClientTransport }): TransportEvents {
    return {
      onData: (data) => this.onData(data),
      onClose: (error) => this.onTransportClosed(attempt, error),
      refreshAuthentication: () => this.refresher.refresh(),
    };
  }

  private onTransportClosed(attempt: { transport?: ClientTransport }, error?: Error): void {
    if (!attempt.transport || attempt.transport !== this.transport) return; // still starting, or an old transport's late news
    if (this.handshake) return this.handshake.fail(error ?? new HubClientError("ERR_CONNECTION_LOST", "The connection closed during the handshake."));
    if (this.state !== "Connected" && this.state !== "Disconnecting") return;
    if (this.stopRequested || this.state === "Disconnecting") return this.closed(this.closeError ?? error);
    // A socket refused in band (the server let the connection go) ends it: no use reattaching.
    if (error && this.link && !resumeRefused(error)) return void reattach(this.reattachHost, this.link, error);
    this.lose(error);
  }

  /** The connection broke: fail what was in flight, then reconnect (or close). */
  private lose(error?: Error): void {
    if (this.state !== "Connected") return;
    this.keepAlive.stop();
    this.refresher.stopped();
    this.stopLink(error);
    const transport = this.transport;
    this.transport = undefined;
    void transport?.stop().catch(this.debug("Could not stop the transport."));
    this.inFlight.failAll(error);
    if (!this.retries.reconnects || this.stopRequested) return this.closed(error);
    this.state = "Reconnecting";
    this.log.warn("Connection lost; reconnecting.", { error });
    this.events.emit("reconnecting", error);
    const attempts = this.retries.reconnect(error).finally(() => {
      if (this.connecting === attempts) this.connecting = undefined;
    });
    this.connecting = attempts;
  }

  private closed(error: Error | undefined): void {
    if (this.state === "Disconnected") return;
    this.keepAlive.stop();
    this.refresher.stopped();
    this.stopLink(error);
    this.inFlight.failAll(error);
    this.state = "Disconnected";
    this.transport = undefined;
    this.held.rejectAll(new HubClientError("ERR_NOT_CONNECTED", messages.notConnected));
    if (error) this.log.error("Connection closed with an error.", { error });
    this.events.emit("close", error);
  }

  // ---- sending ----

  /** Runs `action` now when connected, later when reconnecting (if buffering), else fails. */
  private whenConnected(action: () => void, reject: (error: Error) => void): void {
    if (this.state === "Connected") return action();
    if (this.state === "Reconnecting" && (this.options.bufferWhileReconnecting ?? true)) return this.held.hold(action, reject);
    reject(new HubClientError("ERR_NOT_CONNECTED", messages.notConnected));
  }

  private async sendMessage(message: HubMessage): Promise<void> {
    const link = this.link;
    if (link) {
      // With stateful reconnect a trackable message is kept until acknowledged (held back while
      // the buffer is full): one that cannot go now, or whose socket is dying, goes with the replay.
      const payload = this.protocol.writeMessage(message); // a message that cannot be written never waits
      const held = link.keep(message, payload);
      if (held) await held; // most go at once, in the same turn, as without a link
      if (link.reattaching || !this.transport) return;
      this.keepAlive.sent();
      // A failed send is replayed on the next socket: nothing is lost.
      return this.transport.send(payload).catch(this.debug("A send failed; it will be replayed."));
    }
    const transport = this.transport;
    if (!transport) throw new HubClientError("ERR_NOT_CONNECTED", messages.notConnected);
    this.keepAlive.sent();
    await transport.send(this.protocol.writeMessage(message));
  }

  /** A rejection handler for what may fail when the connection is going anyway: noted at debug. */
  private debug(message: string, fields?: Record<string, unknown>): (error: unknown) => void {
    return (error) => this.log.debug(message, { ...fields, error });
  }

  private newId(): string {
    return String(this.nextId++);
  }
}
