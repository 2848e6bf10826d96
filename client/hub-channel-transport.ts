import { decodeUtf8 } from "../src/protocol/utf8.js";
import type { ClientTransport, Resumable, TransferFormat, TransportEvents, TransportKind } from "./transports/transport.js";

/** What a hub's channel needs of its multiplexer. */
export interface ChannelHost {
  /** The shared connection's transport, once it runs. */
  readonly transportKind: TransportKind | undefined;
  /**
   * Connects the shared connection if need be and opens `path`'s hub on a new channel (the
   * connection id follows with the server's `opened`); `resumable` when the hub may resume after
   * the shared socket drops.
   */
  open(path: string, format: TransferFormat, channel: HubChannelTransport): Promise<{ channel: number; resumable: boolean }>;
  /** Stateful reconnect: the channel's transport on the shared connection's new socket, once it has one. */
  reopen(channel: number, events: TransportEvents): Promise<ClientTransport>;
  sendOn(channel: number, data: string | Uint8Array): Promise<void>;
  closeChannel(channel: number): void;
}

/**
 * The transport of one hub of a `HubMultiplexer`: a channel of the shared connection. The hub's
 * `HubConnection` uses it as any transport (handshake, calls, its own reconnects); the
 * multiplexer keeps the shared connection alive and reconnects it once for all its hubs.
 */
export class HubChannelTransport implements ClientTransport {
  readonly keepsAlive = true;
  connectionId: string | undefined;
  resumable: Resumable | undefined;
  private channel = 0;
  private ended = false;
  private endError: Error | undefined;
  /** What arrived before the hub took this transport over (a resumed channel's replay). */
  private early: Array<string | Uint8Array> | undefined;

  constructor(
    private readonly host: ChannelHost,
    private readonly path: string,
    private events: TransportEvents | undefined,
    private text = true,
  ) {}

  /** A resumed channel's transport, made when the shared connection's new socket is up, before its hub takes it. */
  static resumed(host: ChannelHost, path: string, channel: number, text: boolean): HubChannelTransport {
    const transport = new HubChannelTransport(host, path, undefined, text);
    transport.channel = channel;
    transport.early = [];
    return transport;
  }

  get kind(): TransportKind {
    return this.host.transportKind ?? "WebSockets";
  }

  get isClosed(): boolean {
    return this.ended;
  }

  get number(): number {
    return this.channel;
  }

  get hubPath(): string {
    return this.path;
  }

  get isText(): boolean {
    return this.text;
  }

  /** A resumed channel no hub has taken over yet. */
  get awaitingHub(): boolean {
    return this.early !== undefined;
  }

  async connect(_url: string, format: TransferFormat): Promise<void> {
    this.text = format === "Text";
    const opened = await this.host.open(this.path, format, this);
    this.channel = opened.channel;
    // Refused (or lost) while the open was being sent: its hub has not taken the transport yet.
    if (this.ended) throw this.endError ?? new Error("The hub's channel closed while it was opened.");
    if (opened.resumable) this.resumable = { reopen: (events) => this.host.reopen(this.channel, events), retriesItself: true };
  }

  /** The hub takes over a resumed channel: what arrived meanwhile is handed over after this turn. */
  adopt(events: TransportEvents, resumable: Resumable | undefined): void {
    this.events = events;
    this.resumable = resumable;
    const early = this.early;
    this.early = undefined;
    if (early && early.length > 0) queueMicrotask(() => early.forEach((payload) => this.deliver(payload)));
  }

  send(data: string | Uint8Array): Promise<void> {
    return this.host.sendOn(this.channel, data);
  }

  async stop(): Promise<void> {
    if (this.channel !== 0 && !this.ended) this.host.closeChannel(this.channel);
    this.closed(undefined);
  }

  /** What the server's hub sent; a text hub on a binary connection gets its UTF-8 back as text. */
  deliver(payload: string | Uint8Array): void {
    if (this.ended) return;
    if (this.early) return void this.early.push(payload.slice()); // a view into a frame: kept as a copy
    this.events?.onData(this.text && typeof payload !== "string" ? decodeUtf8(payload) : payload);
  }

  /** The hub's connection is over: closed by the server, or the shared connection was lost. */
  closed(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = error;
    this.events?.onClose(error);
  }
}
