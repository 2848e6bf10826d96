import { HubwireError } from "../errors.js";
import type { LogWriter } from "../logger.js";
import { newConnectionId } from "./connection-ids.js";
import { TransportConnection } from "./transport-connection.js";
import { transportLog } from "./transport-log.js";

/** What a registry needs besides its timeout: see EndpointOptions. */
export interface RegistryLimits {
  readonly maxBufferedBytes: number;
  readonly maxNegotiatedConnections: number;
  /** Where dropped negotiated connections are reported, under the endpoint's path. */
  readonly log?: { readonly writer: LogWriter; readonly path: string } | undefined;
  /** Told of each negotiated connection dropped (the metrics count it). */
  readonly negotiatedDropped?: (() => void) | undefined;
}

/**
 * The connections of one endpoint, by token. A connection that never got a transport, whose
 * long-polling client stopped polling, or whose stateful WebSocket dropped and was not replaced,
 * is dropped after `disconnectTimeoutMs` (checked once a second, as ASP.NET Core does).
 *
 * Negotiated connections waiting for their transport are bounded too: a client that only
 * negotiates would otherwise make the server hold `disconnectTimeoutMs` worth of them (and, in
 * a cluster, a route subscription each). Past `maxNegotiatedConnections` the one that has waited
 * longest is dropped; a real client opens its transport at once, so it is the likeliest to be
 * one that never will.
 */
export class ConnectionRegistry {
  private readonly byToken = new Map<string, TransportConnection>();
  /**
   * Negotiated connections, oldest first. One that has started or closed since leaves it when
   * it is next looked at (making room, or the sweep), so a start costs nothing here.
   */
  private readonly negotiated = new Set<TransportConnection>();
  /** Negotiated connections dropped to make room since the last sweep reported them. */
  private droppedNegotiated = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  /** Told when a connection is forgotten (the router lets go of its route channel); none on a single server. */
  onForget: ((connection: TransportConnection) => void) | undefined;

  constructor(
    private readonly disconnectTimeoutMs: number,
    private readonly limits: RegistryLimits,
  ) {}

  get size(): number {
    return this.byToken.size;
  }

  /** A new connection; negotiate v0 uses the id as the token, v1 a separate secret. */
  create(separateToken: boolean): TransportConnection {
    const id = newConnectionId();
    return this.take(id, separateToken ? newConnectionId() : id);
  }

  /** A connection for a negotiate: it waits for its transport, counted against `maxNegotiatedConnections`. */
  negotiate(separateToken: boolean): TransportConnection {
    this.makeRoomForNegotiated();
    const connection = this.create(separateToken);
    this.negotiated.add(connection);
    return connection;
  }

  /** A connection negotiated elsewhere (on another server), under the id and token it was given there. */
  take(connectionId: string, connectionToken: string): TransportConnection {
    const connection = new TransportConnection(connectionId, connectionToken, this.limits.maxBufferedBytes);
    this.byToken.set(connection.connectionToken, connection);
    connection.owner = this;
    this.sweeper ??= setInterval(() => this.sweep(), 1000).unref();
    return connection;
  }

  /** A connection has closed: forget it, unless its client must still be told (a final poll). */
  connectionClosed(connection: TransportConnection): void {
    if (!connection.transport?.lingering) this.forget(connection);
  }

  /** Forgets a closed connection that was kept for its client's last request, or one that moved to another server. */
  forget(connection: TransportConnection): void {
    if (this.byToken.get(connection.connectionToken) !== connection) return;
    this.byToken.delete(connection.connectionToken);
    this.onForget?.(connection);
  }

  get(token: string): TransportConnection | undefined {
    return this.byToken.get(token);
  }

  all(): IterableIterator<TransportConnection> {
    return this.byToken.values();
  }

  /**
   * Closes every connection. The sweeper keeps running until the registry is empty, so a
   * long-polling client that never comes back for its Close is still dropped after the timeout.
   */
  closeAll(): void {
    for (const connection of [...this.byToken.values()]) connection.close();
  }

  /** Drops negotiated connections that still wait, oldest first, until one more fits. */
  private makeRoomForNegotiated(): void {
    for (const connection of this.negotiated) {
      if (this.negotiated.size < this.limits.maxNegotiatedConnections) return;
      this.negotiated.delete(connection);
      if (connection.state !== "negotiated") continue; // started or closed since
      this.droppedNegotiated++;
      this.limits.negotiatedDropped?.();
      connection.close();
    }
  }

  private sweep(): void {
    for (const connection of this.negotiated) {
      if (connection.state !== "negotiated") this.negotiated.delete(connection);
    }
    if (this.droppedNegotiated > 0) {
      const log = this.limits.log;
      log?.writer.write(transportLog.negotiatedDropped, { path: log.path, dropped: this.droppedNegotiated, limit: this.limits.maxNegotiatedConnections });
      this.droppedNegotiated = 0;
    }
    const cutoff = Date.now() - this.disconnectTimeoutMs;
    for (const connection of this.byToken.values()) {
      if (connection.state === "closed") {
        // Kept for a final 204 that the client never came for.
        const since = connection.transport?.detachedSince;
        if (since === undefined || since <= cutoff || !connection.transport?.lingering) this.forget(connection);
        continue;
      }
      // A stateful WebSocket that dropped and whose client has not come back.
      if (connection.suspendedSince !== undefined) {
        if (connection.suspendedSince <= cutoff) {
          connection.abort(new HubwireError("ERR_TRANSPORT_LOST", `The client did not reconnect within ${this.disconnectTimeoutMs} ms.`));
        }
        continue;
      }
      // Negotiated and never started, or an upgrade that failed before a transport existed.
      if (connection.transport === undefined) {
        if (connection.createdAt <= cutoff) connection.close();
        continue;
      }
      const detachedSince = connection.transport.detachedSince;
      if (detachedSince !== undefined && detachedSince <= cutoff) {
        connection.abort(
          new HubwireError("ERR_TRANSPORT_LOST", `The client has not polled for ${this.disconnectTimeoutMs} ms.`),
        );
      }
    }
    if (this.byToken.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
