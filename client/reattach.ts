import type { HubProtocol } from "../src/protocol/hub-protocol.js";
import { resumeRefused } from "./errors.js";
import type { KeepAlive } from "./keep-alive.js";
import type { Logger } from "./logger.js";
import { reattachDelaysMs, type StatefulLink } from "./stateful-link.js";
import type { ClientTransport, TransportEvents } from "./transports/transport.js";

/** What reattaching needs of its connection. */
export interface ReattachHost {
  readonly protocol: HubProtocol;
  readonly log: Logger;
  readonly keepAlive: KeepAlive;
  /** How long after a drop it tries to reattach (see reattachDelaysMs). */
  readonly reattachWindowMs: number;
  /** The connection still has `link`: false once it was lost or stopped meanwhile. */
  holds(link: StatefulLink): boolean;
  /** Waits `ms`, or less if stop() wakes it. */
  sleep(ms: number): Promise<void>;
  /** The socket the connection sends on (none between a drop and a reattach). */
  setTransport(transport: ClientTransport | undefined): void;
  /** The events of a transport of `attempt`, so that a replaced one cannot disturb its successor. */
  transportEvents(attempt: { transport?: ClientTransport }): TransportEvents;
  /** No socket got through: the connection is lost as any other. */
  lose(cause: Error): void;
  /** A rejection handler for what may fail when the connection is going anyway: noted at debug. */
  debug(message: string): (error: unknown) => void;
}

/**
 * Stateful reconnect: the WebSocket dropped, but the server keeps the connection for a while.
 * A new socket takes it over, sends a Sequence and what the server may have missed, and the
 * connection goes on as if nothing happened (calls in flight included). If no socket gets
 * through, the connection is lost as any other.
 */
export async function reattach(host: ReattachHost, link: StatefulLink, cause: Error): Promise<void> {
  link.reattaching = true;
  host.keepAlive.stop();
  host.setTransport(undefined);
  for (const delay of reattachDelaysMs(host.reattachWindowMs)) {
    if (delay > 0) await host.sleep(delay);
    if (!host.holds(link)) return; // lost or stopped meanwhile
    const attempt: { transport?: ClientTransport } = {};
    let transport: ClientTransport;
    try {
      transport = await link.resumable.reopen(host.transportEvents(attempt));
    } catch (error) {
      host.log.debug("Reattaching the WebSocket failed.", { error });
      // A multiplexed hub whose channel did not come back (closed by the server), or a server
      // that let the connection go: no use waiting.
      if (link.resumable.retriesItself || resumeRefused(error)) break;
      continue;
    }
    if (!host.holds(link)) return void transport.stop().catch(host.debug("Could not stop the transport."));
    attempt.transport = transport;
    host.setTransport(transport);
    // All of it in one go, before anything new can be sent: the order messages were made in
    // holds. If the new socket drops too, its close starts another reattach and replay.
    for (const payload of link.replay(host.protocol)) void transport.send(payload).catch(host.debug("Could not replay a message."));
    link.reattaching = false;
    if (!transport.keepsAlive) host.keepAlive.start();
    return;
  }
  link.reattaching = false;
  host.lose(cause);
}
