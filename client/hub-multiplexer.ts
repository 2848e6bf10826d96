import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { jsonHubProtocol } from "../src/protocol/json-protocol.js";
import {
  readControl,
  readEnvelopes,
  writeBinaryEnvelope,
  writeControl,
  writeTextEnvelope,
  controlChannel,
  type ControlMessage,
} from "../src/protocol/multiplex-frames.js";
import { AuthenticationRefresher, tokenLifetime } from "./authentication-refresh.js";
import { ConnectionEvents } from "./connection-events.js";
import { HubClientError, isFinal, isRefusal, markFinal, messages, resumeRefused, stoppedBeforeConnected } from "./errors.js";
import { defaultRequestTimeoutMs, withQuery, type HttpSettings } from "./http.js";
import { EnvelopeOutbox } from "./envelope-outbox.js";
import { HubChannelTransport, type ChannelHost } from "./hub-channel-transport.js";
import { HubConnection } from "./hub-connection.js";
import { KeepAlive } from "./keep-alive.js";
import { consoleLogger, guardedLogger, type Logger } from "./logger.js";
import type { HubMultiplexerOptions, MultiplexedHubOptions } from "./multiplexer-options.js";
import { defaultRetryPolicy, noRetry, type RetryPolicy } from "./retry-policy.js";
import { startTransport } from "./start-transport.js";
import { connectWithRetries } from "./shared-connection-retries.js";
import { wakeableSleep } from "./wakeable-sleep.js";
import { defaultReattachWindowMs, reattachDelaysMs } from "./stateful-link.js";
import type { ClientTransport, Resumable, TransferFormat, TransportEvents, TransportKind } from "./transports/transport.js";

interface Physical {
  transport: ClientTransport;
  kind: TransportKind;
  /** Channels are numbered anew on each physical connection (a resumed one keeps counting). */
  nextChannel: number;
  /** With stateful reconnect on WebSockets: how a new socket takes the connection over. */
  resumable: Resumable | undefined;
  /** Sends the envelopes of one turn together, on this transport. */
  outbox: EnvelopeOutbox;
}

/** One transport's life on the shared connection; what arrives before it is the current one waits. */
interface Attempt {
  transport?: ClientTransport;
  early?: Array<string | Uint8Array>;
}

/**
 * Several hubs over one connection (hubwire's multiplexing, docs/multiplexing.md): one
 * negotiate, one socket (or SSE stream, or long poll), one keep-alive and one reconnect loop for
 * all of them. Each hub is a `HubConnection` of its own, with its own handshake, protocol,
 * connection id, calls, handlers and events, so code (and generated proxies) written for a
 * `HubConnection` works unchanged. The server maps the extension with `mapMultiplexer`.
 *
 * @example
 * import { HubMultiplexer } from "hubwire/client/multiplex";
 *
 * const hubs = new HubMultiplexer("https://example.com/hubs", { accessTokenFactory: () => token });
 * const chat = hubs.hub("/chat");
 * const presence = hubs.hub("/presence");
 * chat.on("message", (from: string, text: string) => show(from, text));
 * await Promise.all([chat.start(), presence.start()]);   // one connection, two hubs
 * await chat.invoke("Send", "hello");
 * await chat.stop();                                     // presence goes on
 * await hubs.stop();                                     // every hub, then the connection
 */
export class HubMultiplexer implements ChannelHost {
  private readonly log: Logger;
  private readonly http: HttpSettings;
  private readonly protocol: HubProtocol;
  private readonly binary: boolean;
  private readonly policy: RetryPolicy;
  private readonly keepAlive: KeepAlive;
  private readonly hubs = new Set<HubConnection>();
  private readonly channels = new Map<number, HubChannelTransport>();
  /** Channels whose `opened` (or `refused`) has not come yet; they are in `channels` too. */
  private readonly pending = new Map<number, HubChannelTransport>();
  private physical: Physical | undefined;
  private connecting: Promise<void> | undefined;
  /** Stateful reconnect: a dropped socket's connection being taken over by a new one. */
  private resuming: Promise<void> | undefined;
  /** Hubs that go without stateful reconnect on a stateful multiplexer. */
  private readonly notResumable = new WeakSet<HubChannelTransport>();
  private attemptAbort: AbortController | undefined;
  private wakeSleep: (() => void) | undefined;
  private stopping = false;
  /** stop() calls so far: a reattach begun before one ends, whenever its socket comes. */
  private stops = 0;
  /** The server's reason, when it ended the connection for a fault of ours. */
  private serverError: Error | undefined;
  /** The shared connection's authentication refresh: its hubs' tokens are its requests'. */
  private readonly refresher: AuthenticationRefresher;
  private readonly refreshEvents: ConnectionEvents;

  constructor(
    /** The server's multiplexing endpoint (`mapMultiplexer`'s path). */
    readonly url: string,
    private readonly options: HubMultiplexerOptions = {},
  ) {
    this.log = guardedLogger(options.logger ?? consoleLogger());
    this.protocol = options.protocol ?? jsonHubProtocol;
    this.binary = this.protocol.transferFormat === "Binary";
    const factory = options.accessTokenFactory;
    this.http = { headers: options.headers ?? {}, withCredentials: options.withCredentials ?? true, token: async () => (factory ? await factory() : undefined), timeoutMs: options.requestTimeoutMs ?? defaultRequestTimeoutMs };
    const reconnect = options.reconnect;
    this.policy = reconnect === false ? noRetry : reconnect === true || reconnect === undefined ? defaultRetryPolicy() : reconnect;
    this.keepAlive = new KeepAlive(
      {
        ping: () => void this.sendControl(null).catch((error: unknown) => this.log.debug("Could not send a ping.", { error })),
        timedOut: () => this.dropPhysical(new HubClientError("ERR_SERVER_TIMEOUT", messages.serverTimeout)),
      },
      options.keepAliveIntervalMs ?? 15_000,
      options.serverTimeoutMs ?? 30_000,
    );
    this.refreshEvents = new ConnectionEvents(this.log);
    this.refresher = new AuthenticationRefresher(options.authenticationRefresh, {
      log: this.log,
      events: this.refreshEvents,
      // A connection whose socket is being taken over still is, on the server.
      connected: () => this.physical !== undefined || this.resuming !== undefined,
    });
  }

  /** The shared connection's transport while it runs. */
  get transportKind(): TransportKind | undefined {
    return this.physical?.kind;
  }

  /** Whether the shared connection is up. */
  get isConnected(): boolean {
    return this.physical !== undefined;
  }

  /**
   * A connection to the hub mapped at `path` on the server, carried by this multiplexer's
   * connection: start() opens it (connecting the shared connection first if need be), stop()
   * closes it alone. After the shared connection is lost, each hub reconnects with it.
   */
  hub(path: string, options: MultiplexedHubOptions = {}): HubConnection {
    const hubReconnect: RetryPolicy | false =
      this.policy === noRetry
        ? false
        : {
            // The shared connection's loop does the waiting: a hub's attempt waits for it.
            nextDelay: (attempt, elapsedMs, error) => (isFinal(error) ? null : attempt === 1 ? 0 : this.policy.nextDelay(attempt, elapsedMs, error)),
          };
    const { protocol, statefulReconnect, ...rest } = options;
    const hub = new HubConnection(path, {
      ...rest,
      protocol: protocol ?? this.protocol,
      logger: this.log,
      reconnect: hubReconnect,
      transportFactory: (events: TransportEvents) => {
        const channel = new HubChannelTransport(this, path, events);
        if (statefulReconnect === false) this.notResumable.add(channel);
        return channel;
      },
    });
    this.hubs.add(hub);
    return hub;
  }

  /**
   * Refreshes the authentication of every hub on the shared connection now (see
   * HubConnectionOptions.authenticationRefresh; the server's multiplexer must serve it): each hub
   * admits the fresh token from `accessTokenFactory` as its own. Resolves with how long the first
   * of the hubs' tokens lasts, in whole seconds, if the server says; rejects as
   * `HubConnection.refreshAuthentication` does, `ERR_UNAUTHORIZED` when one hub refuses the token.
   */
  refreshAuthentication(): Promise<number | undefined> {
    return this.refresher.refresh();
  }

  /** A refresh of the shared connection's authentication succeeded: as HubConnection's. */
  onAuthenticationRefreshed(listener: (tokenLifetimeSeconds: number | undefined) => void): () => void {
    return this.refreshEvents.add("authenticationRefreshed", listener);
  }

  /** A refresh of the shared connection's authentication failed: as HubConnection's. */
  onAuthenticationRefreshFailed(listener: (error: Error) => void): () => void {
    return this.refreshEvents.add("authenticationRefreshFailed", listener);
  }

  /** Stops every hub of this multiplexer, then the shared connection. A hub started later connects it again. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stops++;
    try {
      this.wakeSleep?.();
      this.attemptAbort?.abort(stoppedBeforeConnected());
      await Promise.all([...this.hubs].map((hub) => hub.stop()));
      await this.connecting?.catch(() => {});
      const physical = this.physical;
      if (physical) {
        this.dropPhysical(undefined);
        await physical.transport.stop().catch((error: unknown) => this.log.debug("Could not stop the transport.", { error }));
      }
    } finally {
      this.stopping = false;
    }
  }

  // ---- the shared connection ----

  /** Resolves once the shared connection is up: at once, or with the one attempt loop all hubs share. */
  private ready(): Promise<void> {
    if (this.stopping) return Promise.reject(stoppedBeforeConnected());
    if (this.physical) return Promise.resolve();
    // A resume that fails leaves the hubs to connect anew.
    if (this.resuming) return this.resuming.then(() => this.ready(), () => this.ready());
    this.connecting ??= this.connectLoop().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private connectLoop(): Promise<void> {
    return connectWithRetries({
      policy: this.policy,
      connectOnce: () => this.connectOnce(),
      stopping: () => this.stopping,
      gaveUp: (error) => void markFinal(error),
      log: this.log,
      setWake: (wake) => (this.wakeSleep = wake),
    });
  }

  private async connectOnce(): Promise<void> {
    const abort = new AbortController();
    this.attemptAbort = abort;
    const attempt: Attempt = {};
    const format: TransferFormat = this.binary ? "Binary" : "Text";
    // The format rides in the URL, so every request of the connection (and the server) knows it.
    const url = this.binary ? withQuery(this.url, "transferFormat", "Binary") : this.url;
    const allowed = this.options.transports ?? ["WebSockets", "ServerSentEvents", "LongPolling"];
    try {
      const stateful = this.options.statefulReconnect ?? false;
      const started = await startTransport(url, this.http, allowed, format, false, this.events(attempt), stateful, abort.signal);
      if (this.stopping) {
        await started.transport.stop().catch(() => {});
        throw stoppedBeforeConnected();
      }
      const { transport, resumable } = started;
      this.physical = { transport, kind: transport.kind, nextChannel: 1, resumable, outbox: new EnvelopeOutbox(transport) };
      this.serverError = undefined;
      this.refresher.connected(started.refresh);
      this.takeOver(attempt, started.transport);
      if (started.transport.kind !== "LongPolling") this.keepAlive.start(); // polls are their own keep-alive
    } finally {
      if (this.attemptAbort === abort) this.attemptAbort = undefined;
    }
  }

  /** `attempt`'s transport is the shared connection's now: what it received meanwhile is read. */
  private takeOver(attempt: Attempt, transport: ClientTransport): void {
    attempt.transport = transport;
    const early = attempt.early;
    attempt.early = undefined;
    if (early) for (const data of early) this.received(attempt, data);
  }

  private received(attempt: Attempt, data: string | Uint8Array): void {
    if (!attempt.transport || attempt.transport !== this.physical?.transport) return;
    this.keepAlive.received();
    try {
      readEnvelopes(data, this.route);
    } catch (error) {
      const failure = new HubClientError("ERR_MUX_PROTOCOL", `The server sent a frame hubwire cannot read: ${(error as Error).message}`);
      this.dropPhysical(failure);
      void attempt.transport.stop().catch(() => {});
    }
  }

  /** The events of `attempt`'s transport: a replaced one's late news is ignored. */
  private events(attempt: Attempt): TransportEvents {
    return {
      onData: (data) => {
        // A resumed connection's server speaks first, maybe before the socket is taken over.
        if (!attempt.transport) return void (attempt.early ??= []).push(data);
        if (attempt.transport !== this.physical?.transport) return;
        this.received(attempt, data);
      },
      onClose: (error) => {
        if (!attempt.transport || attempt.transport !== this.physical?.transport) return;
        // A socket refused in band (the server let the connection go) ends it: its hubs start anew.
        if (error && !this.serverError && !this.stopping && this.physical.resumable && !resumeRefused(error)) return this.suspendPhysical(error);
        this.dropPhysical(this.serverError ?? error ?? new HubClientError("ERR_CONNECTION_LOST", "The shared connection closed."));
      },
      refreshAuthentication: () => this.refresher.refresh(),
    };
  }

  private readonly route = (channel: number, payload: string | Uint8Array): void => {
    if (channel === controlChannel) return this.control(readControl(payload));
    this.channels.get(channel)?.deliver(payload); // none: closed here meanwhile
  };

  private control(message: ControlMessage | null): void {
    if (message === null) return; // the server's ping
    switch (message.type) {
      case "opened": {
        const channel = this.pending.get(message.channel);
        if (!channel) return;
        this.pending.delete(message.channel);
        if (channel.isClosed) return this.closeChannel(message.channel); // stopped while opening
        channel.connectionId = message.connectionId;
        const lifetime = tokenLifetime(message.tokenLifetimeSeconds);
        if (lifetime !== undefined) this.refresher.lifetimeKnown(lifetime);
        return;
      }
      case "refused": {
        const channel = this.pending.get(message.channel);
        this.pending.delete(message.channel);
        this.channels.delete(message.channel);
        const { statusCode } = message;
        const error = isRefusal(statusCode)
          ? new HubClientError("ERR_UNAUTHORIZED", `The server refused the hub: ${message.message}`, statusCode)
          : new HubClientError("ERR_MUX_REFUSED", `The server did not open the hub (${message.code}): ${message.message}`, statusCode);
        markFinal(error);
        return channel?.closed(error); // fails its hub's handshake: start() rejects with it
      }
      case "close": {
        const channel = this.channels.get(message.channel);
        this.channels.delete(message.channel);
        return channel?.closed(undefined);
      }
      case "error":
        this.serverError = new HubClientError("ERR_MUX_PROTOCOL", `The server ended the connection (${message.code}): ${message.message}`);
        return;
      default:
        return; // "open" is the client's to send
    }
  }

  /** The shared connection is gone: every hub on it hears so, and reconnects (or closes) by its own rules. */
  private dropPhysical(error: Error | undefined): void {
    const physical = this.physical;
    if (!physical) return;
    this.physical = undefined;
    this.keepAlive.stop();
    this.refresher.stopped();
    if (error) void physical.transport.stop().catch(() => {});
    this.pending.clear();
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const channel of channels) channel.closed(error);
  }

  /**
   * Stateful reconnect: the socket dropped, but the server keeps the connection and its hubs for
   * a while. Every hub hears of the drop; a stateful one reattaches (`reopen`) once a new socket
   * has taken the connection over, and replays what the server may have missed, as on a
   * connection of its own. The others, and all of them if no socket gets through, start anew.
   */
  private suspendPhysical(cause: Error): void {
    const physical = this.physical!;
    this.physical = undefined;
    this.keepAlive.stop();
    const channels = [...this.channels.values()];
    // A hub still opening never was a connection on the server: it opens anew.
    const resumed = channels.filter((channel) => channel.resumable !== undefined && !this.pending.has(channel.number));
    this.pending.clear();
    this.channels.clear();
    const resuming = this.reattachPhysical(physical, resumed, cause);
    this.resuming = resuming.finally(() => (this.resuming = undefined));
    this.resuming.catch(() => this.refresher.stopped()); // each hub hears of a failure through its own reopen
    for (const channel of channels) channel.closed(cause);
  }

  private async reattachPhysical(physical: Physical, channels: HubChannelTransport[], cause: Error): Promise<void> {
    // stop() wakes the wait, and does not wait for a socket being opened (a black-holed network
    // may hold it for minutes): what comes after a stop is closed here.
    const stops = this.stops;
    for (const delay of reattachDelaysMs(this.options.reattachWindowMs ?? defaultReattachWindowMs)) {
      if (delay > 0) await wakeableSleep(delay, (wake) => (this.wakeSleep = wake));
      if (this.stops !== stops) throw stoppedBeforeConnected();
      const attempt: Attempt = {};
      let transport: ClientTransport;
      try {
        transport = await physical.resumable!.reopen(this.events(attempt));
      } catch (error) {
        this.log.debug("Reattaching the shared connection's socket failed.", { error });
        if (resumeRefused(error)) break; // the server let it go: its hubs start anew at once
        continue;
      }
      if (this.stops !== stops) {
        await transport.stop().catch(() => {});
        throw stoppedBeforeConnected();
      }
      this.physical = { ...physical, transport, outbox: new EnvelopeOutbox(transport) };
      // Registered before the server's replays are read: each waits for its hub to take it.
      for (const channel of channels) this.channels.set(channel.number, HubChannelTransport.resumed(this, channel.hubPath, channel.number, channel.isText));
      this.takeOver(attempt, transport);
      this.keepAlive.start();
      return;
    }
    throw cause;
  }

  async reopen(channel: number, events: TransportEvents): Promise<ClientTransport> {
    await this.resuming;
    const transport = this.channels.get(channel);
    if (!transport || transport.isClosed || !transport.awaitingHub) throw new HubClientError("ERR_CONNECTION_LOST", "The hub's channel could not be resumed.");
    transport.adopt(events, { reopen: (next) => this.reopen(channel, next), retriesItself: true });
    return transport;
  }

  // ---- ChannelHost ----

  /**
   * Sends the open and resolves: the hub's handshake follows at once, and the server hands it to
   * the hub once open (one round trip for both). A refusal fails the handshake.
   */
  async open(path: string, format: TransferFormat, channel: HubChannelTransport): Promise<{ channel: number; resumable: boolean }> {
    if (format === "Binary" && !this.binary) {
      const error = new HubClientError("ERR_MUX_FORMAT", "A hub with a binary protocol needs a multiplexer whose protocol is binary (MessagePack).");
      markFinal(error);
      throw error;
    }
    await this.ready();
    const physical = this.physical;
    if (!physical) throw new HubClientError("ERR_CONNECTION_LOST", "The shared connection closed.");
    const number = physical.nextChannel++;
    this.channels.set(number, channel);
    this.pending.set(number, channel);
    await this.sendControl({ type: "open", channel: number, path, format });
    return { channel: number, resumable: physical.resumable !== undefined && !this.notResumable.has(channel) };
  }

  sendOn(channel: number, data: string | Uint8Array): Promise<void> {
    const physical = this.physical;
    if (!physical) return Promise.reject(new HubClientError("ERR_NOT_CONNECTED", messages.notConnected));
    this.keepAlive.sent();
    if (this.binary) return physical.outbox.send(writeBinaryEnvelope(channel, data));
    if (typeof data !== "string") return Promise.reject(new HubClientError("ERR_MUX_FORMAT", "A text connection carries text only."));
    return physical.outbox.send(writeTextEnvelope(channel, data));
  }

  closeChannel(channel: number): void {
    this.channels.delete(channel);
    if (!this.physical) return;
    void this.sendControl({ type: "close", channel }).catch((error: unknown) => this.log.debug("Could not close a hub's channel.", { error }));
  }

  private sendControl(message: ControlMessage | null): Promise<void> {
    const physical = this.physical;
    if (!physical) return Promise.reject(new HubClientError("ERR_NOT_CONNECTED", messages.notConnected));
    this.keepAlive.sent();
    return physical.outbox.send(writeControl(message, this.binary));
  }
}
