import type { AdmissionCheck } from "./connection-admission.js";
import type { MultiplexedConnection } from "./multiplexed-connection.js";
import type { CarriedHub } from "./multiplex-settings.js";
import type { Transport, TransportName } from "./transport.js";
import type { TransportConnection } from "./transport-connection.js";

/**
 * The transport of one hub inside a multiplexed connection: what the hub sends goes, in an
 * envelope of its channel, over the physical connection's transport. To the hub stack it is a
 * transport like any other; the physical connection keeps it alive (`keepsAlive`).
 */
export class HubChannel implements Transport {
  readonly keepsAlive = true;
  /**
   * See Transport.sendUtf8: a text hub's messages already encoded go as they are where its
   * connection carries them so (a WebSocket frames them, a binary connection's envelopes hold
   * UTF-8); elsewhere (SSE, text long polling) the hub writes text.
   */
  readonly sendUtf8: ((this: HubChannel, utf8: Uint8Array) => void) | undefined;
  private paused = false;

  constructor(
    private readonly physical: MultiplexedConnection,
    readonly channel: number,
    readonly connection: TransportConnection,
    /** The hub's protocol is a text one (JSON), as its client said when it opened the hub. */
    readonly text: boolean,
    /** The hub's own admission check, which a fresh token of the connection goes through again. */
    readonly admit: AdmissionCheck,
    /** Where the hub is mapped: a server the connection moves to opens the same hub. */
    readonly path: string,
  ) {
    const { binary } = physical.layout;
    this.sendUtf8 = text && (binary || physical.transportName === "WebSockets") ? HubChannel.sendUtf8OnChannel : undefined;
  }

  get carrierId(): string {
    return this.physical.physical.connectionId;
  }

  get carrierToken(): string {
    return this.physical.physical.connectionToken;
  }

  /** See Transport.carried. */
  carried(): CarriedHub {
    const { physical } = this;
    const { connectionId, connectionToken: token, identity } = physical.physical;
    const stateful = [...physical.hubs()].filter((hub) => hub.connection.resumable).map((hub) => hub.channel);
    const { path, binary, highestChannel } = physical.layout;
    return {
      path,
      connectionId,
      token,
      ...(identity !== undefined ? { identity } : {}),
      binary,
      highestChannel,
      channel: this.channel,
      hubPath: this.path,
      text: this.text,
      stateful,
    };
  }

  get name(): TransportName {
    return this.physical.transportName;
  }

  /** The physical transport's: every hub of the connection shares its buffer. */
  get bufferedBytes(): number {
    return this.physical.bufferedBytes;
  }

  send(data: string | Uint8Array, shared?: boolean): void {
    this.physical.sendOn(this.channel, data, shared);
  }

  /** One function for every channel that takes bytes, called as its method: no closure per hub. */
  private static sendUtf8OnChannel(this: HubChannel, utf8: Uint8Array): void {
    this.physical.sendOn(this.channel, utf8, false, true);
  }

  close(): void {
    this.end();
  }

  abort(): void {
    this.end();
  }

  /**
   * A hub that cannot take more (an upload stream is full) stops the physical connection's
   * reading: its other hubs wait too, but nothing queues without bound.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.physical.pauseReceiving();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.physical.resumeReceiving();
  }

  /**
   * The hub's connection is to move to another server (HubServer.drain): it cannot move alone,
   * so the physical connection drops its socket (once, for all its hubs) and waits, suspended,
   * for its client's next one; a stateful hub waits with it (see MultiplexMoves). The channel
   * stays the hub's transport: the physical connection's next socket takes it over.
   */
  retire(): void {
    this.physical.suspend();
  }

  /** Ends the hub's connection: its client is told, the physical connection goes on. */
  private end(): void {
    this.resume();
    this.physical.closeChannel(this);
  }

  /** The physical connection ended: so does the hub's. */
  physicalClosed(error: Error | undefined): void {
    this.resume();
    this.connection.transportClosed(error);
  }
}
