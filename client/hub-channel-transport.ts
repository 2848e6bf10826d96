import { decodeUtf8 } from "../src/protocol/utf8.js";
import type { ClientTransport, TransferFormat, TransportEvents, TransportKind } from "./transports/transport.js";

/** What a hub's channel needs of its multiplexer. */
export interface ChannelHost {
  /** The shared connection's transport, once it runs. */
  readonly transportKind: TransportKind | undefined;
  /** Connects the shared connection if need be, opens `path`'s hub on a new channel and resolves once the server has. */
  open(path: string, format: TransferFormat, channel: HubChannelTransport): Promise<{ channel: number; connectionId: string }>;
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
  private channel = 0;
  private text = true;
  private ended = false;

  constructor(
    private readonly host: ChannelHost,
    private readonly path: string,
    private readonly events: TransportEvents,
  ) {}

  get kind(): TransportKind {
    return this.host.transportKind ?? "WebSockets";
  }

  get isClosed(): boolean {
    return this.ended;
  }

  async connect(_url: string, format: TransferFormat): Promise<void> {
    this.text = format === "Text";
    const opened = await this.host.open(this.path, format, this);
    this.channel = opened.channel;
    this.connectionId = opened.connectionId;
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
    this.events.onData(this.text && typeof payload !== "string" ? decodeUtf8(payload) : payload);
  }

  /** The hub's connection is over: closed by the server, or the shared connection was lost. */
  closed(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.events.onClose(error);
  }
}
