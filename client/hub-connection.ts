import { parseHandshakeResponse, writeHandshakeRequest } from "../src/protocol/handshake.js";
import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { jsonHubProtocol } from "../src/protocol/json-protocol.js";
import { MessageType, type CompletionMessage, type HubMessage, type InvocationMessage } from "../src/protocol/messages.js";
import { isUpload, splitOptions, type CallOptions } from "./call-options.js";
import { HubClientError, HubError, messages } from "./errors.js";
import type { HttpSettings } from "./http.js";
import { HubStream } from "./hub-stream.js";
import { defaultRetryPolicy, noRetry, type RetryPolicy } from "./retry-policy.js";
import { startTransport } from "./start-transport.js";
import type { ClientTransport, TransportEvents, TransportKind } from "./transports/transport.js";

export type ConnectionState = "Disconnected" | "Connecting" | "Connected" | "Reconnecting" | "Disconnecting";

export interface HubConnectionOptions {
  /** The hub protocol; default JSON. MessagePack: `import { messagePack } from "hubwire/client/msgpack"`. */
  protocol?: HubProtocol;
  /** Transports this client may use, tried in the server's order. Default: all three. */
  transports?: TransportKind[];
  /** Open a WebSocket at once, without negotiate (requires `transports: ["WebSockets"]`). */
  skipNegotiation?: boolean;
  /** The bearer token, fetched for every connection attempt. */
  accessTokenFactory?: () => string | undefined | Promise<string | undefined>;
  headers?: Record<string, string>;
  /** Send cookies cross-origin (browsers). Default true. */
  withCredentials?: boolean;
  /** Reconnect by itself, including a first start() that fails: true (default policy), a policy, or false. Default true. */
  reconnect?: boolean | RetryPolicy;
  /** Hold sends and calls made while reconnecting and deliver them, in order, once reconnected. Default true. */
  bufferWhileReconnecting?: boolean;
  /** At most this many held; past it a call fails with ERR_BUFFER_FULL. Default 1000. */
  maxBufferedCalls?: number;
  /** Ping after this long without sending (not on long polling). Default 15 000 ms. */
  keepAliveIntervalMs?: number;
  /** Give up on a server silent for this long (not on long polling). Default 30 000 ms. */
  serverTimeoutMs?: number;
  /**
   * Supplies the transport instead of negotiating (custom transports, tests). It is called for
   * every connection attempt and must return a transport not yet connected.
   */
  transportFactory?: (events: TransportEvents) => ClientTransport;
}

type Handler = (...args: any[]) => unknown;

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A call made while reconnecting: run once the connection is back, or failed if it never is. */
interface HeldCall {
  run(): void;
  reject(error: Error): void;
}

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
  private readonly retry: RetryPolicy;
  private readonly handlers = new Map<string, Handler[]>();
  private readonly calls = new Map<string, PendingCall>();
  private readonly streams = new Map<string, HubStream<unknown>>();
  private readonly held: HeldCall[] = [];
  private readonly listeners = { close: new Set<(error?: Error) => void>(), reconnecting: new Set<(error?: Error) => void>(), reconnected: new Set<(id: string | null) => void>() };
  private transport: ClientTransport | undefined;
  private nextId = 0;
  private handshake: { resolve(): void; reject(error: Error): void } | undefined;
  private closeError: Error | undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private lastSent = 0;
  private lastReceived = 0;
  private stopRequested = false;
  private wakeRetry: (() => void) | undefined;

  constructor(
    readonly url: string,
    private readonly options: HubConnectionOptions = {},
  ) {
    this.protocol = options.protocol ?? jsonHubProtocol;
    const headers = options.headers ?? {};
    const factory = options.accessTokenFactory;
    this.http = { headers, withCredentials: options.withCredentials ?? true, token: async () => (factory ? await factory() : undefined) };
    this.retry = options.reconnect === false ? noRetry : options.reconnect === true || options.reconnect === undefined ? defaultRetryPolicy() : options.reconnect;
  }

  /** Connects; with reconnection on, keeps trying per the retry policy before it gives up. */
  async start(): Promise<void> {
    if (this.state !== "Disconnected") throw new HubClientError("ERR_NOT_CONNECTED", `Cannot start a connection that is not in the 'Disconnected' state.`);
    this.state = "Connecting";
    this.stopRequested = false;
    const began = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connectOnce();
        return;
      } catch (error) {
        const delay = this.stopRequested ? null : this.retry.nextDelay(attempt, Date.now() - began, error as Error);
        if (delay === null) {
          this.state = "Disconnected";
          throw error;
        }
        await this.sleep(delay);
        if (this.stopRequested) {
          this.state = "Disconnected";
          throw error;
        }
      }
    }
  }

  /** Closes the connection; calls in flight fail, held calls are dropped. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.wakeRetry?.();
    if (this.state === "Disconnected") return;
    if (this.state === "Reconnecting" || this.state === "Connecting") return this.closed(undefined);
    this.state = "Disconnecting";
    const transport = this.transport;
    if (transport) {
      await this.sendMessage({ type: MessageType.Close }).catch(() => {});
      await transport.stop();
    }
    this.closed(undefined);
  }

  /** Calls a hub method and resolves with its result. A trailing `withSignal(signal)` makes it cancellable. */
  invoke<T = unknown>(method: string, ...rawArgs: unknown[]): Promise<T> {
    const { args, options } = splitOptions(rawArgs);
    return new Promise<T>((resolve, reject) => {
      this.whenConnected(() => {
        const invocationId = this.newId();
        this.calls.set(invocationId, { resolve: resolve as (value: unknown) => void, reject });
        this.cancelOn(options, invocationId, (error) => {
          if (this.calls.delete(invocationId)) reject(error);
        });
        this.sendInvocation({ type: MessageType.Invocation, invocationId, target: method, arguments: args }, (error) => {
          if (this.calls.delete(invocationId)) reject(error);
        });
      }, reject);
    });
  }

  /** Calls a hub method without waiting for it (no result, no error). */
  send(method: string, ...rawArgs: unknown[]): Promise<void> {
    const { args } = splitOptions(rawArgs);
    return new Promise((resolve, reject) => {
      this.whenConnected(() => this.sendInvocation({ type: MessageType.Invocation, target: method, arguments: args }, reject, resolve), reject);
    });
  }

  /** Calls a streaming hub method; iterate the result, or subscribe to it. */
  stream<T = unknown>(method: string, ...rawArgs: unknown[]): HubStream<T> {
    const { args, options } = splitOptions(rawArgs);
    let invocationId: string | undefined;
    const stream = new HubStream<T>(() => {
      if (invocationId === undefined) return;
      this.streams.delete(invocationId);
      void this.sendMessage({ type: MessageType.CancelInvocation, invocationId }).catch(() => {});
    });
    this.whenConnected(
      () => {
        invocationId = this.newId();
        this.streams.set(invocationId, stream as HubStream<unknown>);
        this.cancelOn(options, invocationId, () => stream[Symbol.asyncIterator]().return?.());
        const { uploads, streamIds, inline } = this.bindUploads(args);
        void this.sendMessage({ type: MessageType.StreamInvocation, invocationId, target: method, arguments: inline, ...(streamIds ? { streamIds } : {}) }).then(
          () => this.pumpUploads(uploads, streamIds),
          (error: Error) => stream.end(error),
        );
      },
      (error) => stream.end(error),
    );
    return stream;
  }

  /** Registers a function the server may call; its return value answers a client-result call. Names are case-insensitive. */
  on(method: string, handler: Handler): () => void {
    const key = method.toLowerCase();
    const list = this.handlers.get(key) ?? [];
    list.push(handler);
    this.handlers.set(key, list);
    return () => this.off(method, handler);
  }

  off(method: string, handler?: Handler): void {
    const key = method.toLowerCase();
    if (!handler) return void this.handlers.delete(key);
    const list = (this.handlers.get(key) ?? []).filter((h) => h !== handler);
    if (list.length > 0) this.handlers.set(key, list);
    else this.handlers.delete(key);
  }

  onClose(listener: (error?: Error) => void): () => void {
    this.listeners.close.add(listener);
    return () => this.listeners.close.delete(listener);
  }

  onReconnecting(listener: (error?: Error) => void): () => void {
    this.listeners.reconnecting.add(listener);
    return () => this.listeners.reconnecting.delete(listener);
  }

  onReconnected(listener: (connectionId: string | null) => void): () => void {
    this.listeners.reconnected.add(listener);
    return () => this.listeners.reconnected.delete(listener);
  }

  // ---- connecting ----

  private async connectOnce(): Promise<void> {
    const allowed = this.options.transports ?? ["WebSockets", "ServerSentEvents", "LongPolling"];
    // Events name their attempt, so a transport that failed or was replaced cannot disturb the current one.
    const attempt: { transport?: ClientTransport } = {};
    const events: TransportEvents = {
      onData: (data) => this.onData(data),
      onClose: (error) => this.onTransportClosed(attempt, error),
    };
    const started = this.options.transportFactory
      ? await connectSupplied(this.options.transportFactory(events), this.url, this.protocol.transferFormat)
      : await startTransport(this.url, this.http, allowed, this.protocol.transferFormat, this.options.skipNegotiation ?? false, events);
    attempt.transport = started.transport;
    this.transport = started.transport;
    this.closeError = undefined;
    const handshakeDone = new Promise<void>((resolve, reject) => (this.handshake = { resolve, reject }));
    const timer = setTimeout(() => this.handshake?.reject(new HubClientError("ERR_HANDSHAKE", "Server timeout elapsed without receiving a handshake response.")), 15_000);
    try {
      await this.transport.send(writeHandshakeRequest(this.protocol.name, 1));
      await handshakeDone;
    } catch (error) {
      await started.transport.stop().catch(() => {});
      this.transport = undefined;
      throw error;
    } finally {
      clearTimeout(timer);
      this.handshake = undefined;
    }
    this.connectionId = started.connectionId;
    this.state = "Connected";
    this.lastReceived = this.lastSent = Date.now();
    this.startKeepAlive();
  }

  private onData(data: string | Uint8Array): void {
    this.lastReceived = Date.now();
    if (this.handshake) {
      let response;
      try {
        response = parseHandshakeResponse(data);
      } catch (error) {
        return this.handshake.reject(new HubClientError("ERR_HANDSHAKE", `Error parsing handshake response: ${String(error)}`));
      }
      if (response.error !== undefined) return this.handshake.reject(new HubClientError("ERR_HANDSHAKE", messages.handshakeError(response.error)));
      this.handshake.resolve();
      if (response.remaining === undefined) return;
      data = response.remaining;
    }
    let received: HubMessage[];
    try {
      received = this.protocol.parseMessages(data);
    } catch (error) {
      return this.lose(error as Error);
    }
    for (const message of received) this.dispatch(message);
  }

  private dispatch(message: HubMessage): void {
    switch (message.type) {
      case MessageType.Invocation:
        return void this.runHandlers(message);
      case MessageType.StreamItem:
        return this.streams.get(message.invocationId)?.push(message.item);
      case MessageType.Completion:
        return this.complete(message);
      case MessageType.Close:
        return this.serverClosed(message.error, message.allowReconnect === true);
      default:
        return; // Ping and anything newer need no answer
    }
  }

  private complete(message: CompletionMessage): void {
    const error = message.error !== undefined ? new HubError(message.error) : undefined;
    const stream = this.streams.get(message.invocationId);
    if (stream) {
      this.streams.delete(message.invocationId);
      return stream.end(error);
    }
    const call = this.calls.get(message.invocationId);
    if (!call) return;
    this.calls.delete(message.invocationId);
    if (error) call.reject(error);
    else call.resolve(message.hasResult ? message.result : undefined);
  }

  /** Runs the handlers of a server call; when the call has an id, the answer goes back as a Completion. */
  private async runHandlers(message: InvocationMessage): Promise<void> {
    const handlers = this.handlers.get(message.target.toLowerCase()) ?? [];
    let result: unknown;
    let error: string | undefined;
    let results = 0;
    for (const handler of [...handlers]) {
      try {
        const value = await handler(...message.arguments);
        if (value !== undefined) {
          results++;
          result = value;
        }
      } catch (failure) {
        error ??= String(failure);
      }
    }
    if (message.invocationId === undefined) return;
    if (error === undefined && results === 0) error = messages.noResult;
    if (error === undefined && results > 1) error = "Client provided multiple results.";
    const completion: CompletionMessage =
      error !== undefined
        ? { type: MessageType.Completion, invocationId: message.invocationId, hasResult: false, error }
        : { type: MessageType.Completion, invocationId: message.invocationId, hasResult: true, result };
    await this.sendMessage(completion).catch(() => {});
  }

  // ---- losing and regaining the connection ----

  private serverClosed(error: string | undefined, allowReconnect: boolean): void {
    const reason = error !== undefined ? new HubClientError("ERR_CLOSED_BY_SERVER", messages.closeError(error)) : undefined;
    if (allowReconnect && this.retry !== noRetry) return this.lose(reason);
    this.closeError = reason;
    this.stopRequested = true;
    void this.transport?.stop();
  }

  private onTransportClosed(attempt: { transport?: ClientTransport }, error?: Error): void {
    if (!attempt.transport || attempt.transport !== this.transport) return; // still starting, or an old transport's late news
    if (this.handshake) return this.handshake.reject(error ?? new HubClientError("ERR_CONNECTION_LOST", "The connection closed during the handshake."));
    if (this.state !== "Connected" && this.state !== "Disconnecting") return;
    if (this.stopRequested || this.state === "Disconnecting") return this.closed(this.closeError ?? error);
    this.lose(error);
  }

  /** The connection broke: fail what was in flight, then reconnect (or close). */
  private lose(error?: Error): void {
    if (this.state !== "Connected") return;
    this.stopKeepAlive();
    const transport = this.transport;
    this.transport = undefined;
    void transport?.stop().catch(() => {});
    this.failInFlight(error);
    if (this.retry === noRetry || this.stopRequested) return this.closed(error);
    this.state = "Reconnecting";
    for (const listener of this.listeners.reconnecting) listener(error);
    void this.reconnect(error);
  }

  private async reconnect(cause: Error | undefined): Promise<void> {
    const began = Date.now();
    let lastError = cause;
    for (let attempt = 1; ; attempt++) {
      const delay = this.retry.nextDelay(attempt, Date.now() - began, lastError);
      if (delay === null || this.stopRequested) return this.closed(lastError);
      await this.sleep(delay);
      if (this.stopRequested || this.state !== "Reconnecting") return this.closed(lastError);
      try {
        this.state = "Reconnecting";
        await this.connectOnce();
      } catch (error) {
        this.state = "Reconnecting";
        lastError = error as Error;
        continue;
      }
      for (const listener of this.listeners.reconnected) listener(this.connectionId);
      for (const call of this.held.splice(0)) call.run(); // in the order they were made
      return;
    }
  }

  private failInFlight(error?: Error): void {
    const reason = error ?? new HubClientError("ERR_CONNECTION_LOST", messages.connectionClosed);
    const lost = new HubClientError("ERR_CONNECTION_LOST", error ? `${messages.connectionClosed} ${error.message}` : messages.connectionClosed);
    for (const call of this.calls.values()) call.reject(error && error instanceof HubClientError && error.code === "ERR_CLOSED_BY_SERVER" ? reason : lost);
    this.calls.clear();
    for (const stream of this.streams.values()) stream.end(lost);
    this.streams.clear();
  }

  private closed(error: Error | undefined): void {
    if (this.state === "Disconnected") return;
    this.stopKeepAlive();
    this.failInFlight(error);
    this.state = "Disconnected";
    this.transport = undefined;
    const reason = new HubClientError("ERR_NOT_CONNECTED", messages.notConnected);
    for (const call of this.held.splice(0)) call.reject(reason);
    for (const listener of this.listeners.close) listener(error);
  }

  // ---- sending ----

  /** Runs `action` now when connected, later when reconnecting (if buffering), else fails. */
  private whenConnected(action: () => void, reject: (error: Error) => void): void {
    if (this.state === "Connected") return action();
    if (this.state === "Reconnecting" && (this.options.bufferWhileReconnecting ?? true)) {
      if (this.held.length >= (this.options.maxBufferedCalls ?? 1000)) {
        return reject(new HubClientError("ERR_BUFFER_FULL", "Too many calls are waiting for the connection to come back."));
      }
      this.held.push({ run: action, reject });
      return;
    }
    reject(new HubClientError("ERR_NOT_CONNECTED", messages.notConnected));
  }

  private sendInvocation(message: InvocationMessage, reject: (error: Error) => void, sent?: () => void): void {
    const { uploads, streamIds, inline } = this.bindUploads(message.arguments);
    const framed: InvocationMessage = { ...message, arguments: inline, ...(streamIds ? { streamIds } : {}) };
    this.sendMessage(framed).then(() => {
      sent?.();
      this.pumpUploads(uploads, streamIds);
    }, reject);
  }

  /** Upload arguments become streams with ids of their own; the others stay inline. */
  private bindUploads(args: unknown[]): { uploads: AsyncIterable<unknown>[]; streamIds: string[] | undefined; inline: unknown[] } {
    const uploads: AsyncIterable<unknown>[] = [];
    const inline: unknown[] = [];
    for (const arg of args) (isUpload(arg) ? uploads : inline).push(arg as never);
    return { uploads, streamIds: uploads.length > 0 ? uploads.map(() => this.newId()) : undefined, inline };
  }

  private pumpUploads(uploads: AsyncIterable<unknown>[], streamIds: string[] | undefined): void {
    uploads.forEach(async (upload, i) => {
      const invocationId = streamIds![i]!;
      try {
        for await (const item of upload) await this.sendMessage({ type: MessageType.StreamItem, invocationId, item });
        await this.sendMessage({ type: MessageType.Completion, invocationId, hasResult: false });
      } catch (error) {
        // As the official client does: an upload's error travels as its message alone.
        const text = error instanceof Error ? error.message : String(error);
        await this.sendMessage({ type: MessageType.Completion, invocationId, hasResult: false, error: text }).catch(() => {});
      }
    });
  }

  private async sendMessage(message: HubMessage): Promise<void> {
    const transport = this.transport;
    if (!transport) throw new HubClientError("ERR_NOT_CONNECTED", messages.notConnected);
    this.lastSent = Date.now();
    await transport.send(this.protocol.writeMessage(message));
  }

  private cancelOn(options: CallOptions | undefined, invocationId: string, cancelled: (error: Error) => void): void {
    const signal = options?.signal;
    if (!signal) return;
    const abort = () => {
      void this.sendMessage({ type: MessageType.CancelInvocation, invocationId }).catch(() => {});
      cancelled(signal.reason instanceof Error ? signal.reason : new HubClientError("ERR_CANCELED", "The call was canceled."));
    };
    if (signal.aborted) return abort();
    signal.addEventListener("abort", abort, { once: true });
  }

  private newId(): string {
    return String(this.nextId++);
  }

  // ---- liveness ----

  private startKeepAlive(): void {
    this.stopKeepAlive();
    if (this.transport?.kind === "LongPolling") return; // polls are their own keep-alive
    const keepAliveMs = this.options.keepAliveIntervalMs ?? 15_000;
    const timeoutMs = this.options.serverTimeoutMs ?? 30_000;
    this.keepAlive = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceived >= timeoutMs) return this.lose(new HubClientError("ERR_SERVER_TIMEOUT", messages.serverTimeout));
      if (now - this.lastSent >= keepAliveMs) void this.sendMessage({ type: MessageType.Ping }).catch(() => {});
    }, Math.min(1000, keepAliveMs / 2, timeoutMs / 2));
    (this.keepAlive as { unref?: () => void }).unref?.();
  }

  private stopKeepAlive(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeRetry = done;
    });
  }
}

async function connectSupplied(transport: ClientTransport, url: string, format: "Text" | "Binary") {
  await transport.connect(url, format);
  return { transport, connectionId: null };
}
