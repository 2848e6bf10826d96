import type { ConnectionHandler } from "./connection-endpoint.js";
import { MultiplexedConnection, type MultiplexSettings, type SharedEnvelope } from "./multiplexed-connection.js";
import type { TransportConnection } from "./transport-connection.js";

/**
 * The handler of a multiplexing endpoint: each of its connections carries hubs of the server
 * (see MultiplexedConnection). One timer keeps all of them alive, as the hubs' heartbeat does
 * for theirs.
 */
export class MultiplexHandler implements ConnectionHandler {
  private readonly connections = new Set<MultiplexedConnection>();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The time of the last beat (ms): close enough for keep-alives, and cheaper to read per message than Date.now(). */
  now = Date.now();
  readonly shared: SharedEnvelope = { data: undefined, channel: 0, binary: false, envelope: "" };

  constructor(private readonly settings: MultiplexSettings) {}

  /** Physical connections running. */
  get connectionCount(): number {
    return this.connections.size;
  }

  onConnection(connection: TransportConnection): void {
    if (!this.timer) this.now = Date.now();
    this.connections.add(new MultiplexedConnection(connection, this.settings, this));
    this.timer ??= setInterval(() => this.beat(), Math.max(10, Math.min(1000, this.settings.keepAliveIntervalMs / 4)));
    this.timer.unref();
  }

  /**
   * The server leaves its cluster (HubServer.drain): every connection ends, after what its hubs
   * were sent (their Close, which allows reconnecting), so that its client reconnects, and
   * reopens its hubs, through another server.
   */
  endAll(): void {
    for (const connection of this.connections) connection.end();
  }

  /** A multiplexed connection ended. */
  closed(connection: MultiplexedConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.stopTimer();
  }

  private beat(): void {
    const now = (this.now = Date.now());
    for (const connection of this.connections) connection.onHeartbeat(now);
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
