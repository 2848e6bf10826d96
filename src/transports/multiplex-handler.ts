import type { ConnectionHandler } from "./connection-endpoint.js";
import { MultiplexedConnection } from "./multiplexed-connection.js";
import type { MovedMultiplex, MultiplexSettings, SharedEnvelope } from "./multiplex-settings.js";
import { MultiplexMoves } from "./multiplex-moves.js";
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
  /** With a backplane: a connection whose hubs are stateful moves between servers with them. */
  readonly moves: MultiplexMoves | undefined;

  constructor(
    private readonly settings: MultiplexSettings,
    movable = false,
  ) {
    this.moves = movable ? new MultiplexMoves(this, settings) : undefined;
  }

  /** Physical connections running. */
  get connectionCount(): number {
    return this.connections.size;
  }

  onConnection(connection: TransportConnection): void {
    this.add(new MultiplexedConnection(connection, this.settings, this));
  }

  /** A connection that moved here from another server, suspended until its client's socket is back. */
  movedIn(connection: TransportConnection, moved: MovedMultiplex): MultiplexedConnection {
    return this.add(new MultiplexedConnection(connection, this.settings, this, moved));
  }

  private add(connection: MultiplexedConnection): MultiplexedConnection {
    if (!this.timer) this.now = Date.now();
    this.connections.add(connection);
    this.timer ??= setInterval(() => this.beat(), Math.max(10, Math.min(1000, this.settings.keepAliveIntervalMs / 4)));
    this.timer.unref();
    return connection;
  }

  /**
   * The server leaves its cluster (HubServer.drain), after its hubs handed their connections
   * over: a connection with a stateful hub dropped its socket then (see HubChannel.retire), and
   * waits for its client's next one, which moves it to the server it reaches. Every other
   * connection ends, after what its hubs were sent (their Close, which allows reconnecting), so
   * that its client reconnects, and reopens its hubs, through another server.
   */
  endAll(): void {
    for (const connection of this.connections) if (!(this.moves && connection.physical.state === "suspended")) connection.end();
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
