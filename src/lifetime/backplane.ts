import type { HubLifetimeManager } from "./hub-lifetime-manager.js";
import type { ScaleOutOptions } from "./scale-out-lifetime-manager.js";

/**
 * What a message engine must offer for several hubwire servers to act as one: plain pub/sub on
 * named channels. The scale-out logic lives once, in ScaleOutLifetimeManager; a backplane only
 * moves bytes, and keeps applications that share an engine apart (a channel prefix of its own).
 * `hubwire/redis` provides one over Redis. A call that throws instead of returning a promise is
 * taken as one that rejected: it costs what an unreachable engine costs, never the process.
 */
export interface Backplane {
  /**
   * Sends `payload` to every subscriber of `channel`. Resolves with how many subscribers received
   * it (0: nobody listens, e.g. a connection that exists on no server); rejects when the engine
   * cannot be reached.
   */
  publish(channel: string, payload: Uint8Array): Promise<number>;
  /**
   * Hands every later message on `channel` to `onMessage` until unsubscribed. Resolves once the
   * subscription is active; while the engine is unreachable it resolves at once and the
   * subscription is made on reconnecting.
   */
  subscribe(channel: string, onMessage: (payload: Uint8Array) => void): Promise<void>;
  /**
   * Stops the messages of `channel`. A message the engine delivered before the unsubscribe took
   * effect, and counted in its publish's result, still reaches `onMessage`: a server that forwards
   * a request to another counts on an answer from every receiver.
   */
  unsubscribe(channel: string): Promise<void>;
  /**
   * Makes every subscription again, for one the engine may have lost while this side believes
   * it made: the scale-out manager calls it when its own heartbeats stop coming back although
   * they go out. Optional: without it, the manager subscribes to its server channels again.
   */
  resubscribeAll?(): Promise<void>;
  /**
   * Tells `events` when a connection that receives from the engine drops and when a connection
   * is back, until the returned function is called. Optional: without it, a server notices an
   * outage only when a publish fails or its heartbeats stop coming back, so a restart of the
   * engine shorter than a heartbeat interval, during which it publishes nothing, goes unseen, and
   * what it publishes before the other servers have subscribed again is lost to them; and the
   * other servers neither hold nor send again what a server whose own subscribing connection
   * dropped missed. A server that missed messages asks for those published after the last
   * heartbeat it heard while the link delivered: a backplane that reports a link must deliver
   * what one server publishes to another on every channel of that link in the order published,
   * as one Redis connection does. One with several such links (a Redis Cluster's shards) says
   * which drop is partial, and that its links keep no order between them.
   */
  watchLinks?(events: BackplaneLinkEvents): () => void;
  /** Ends the engine connections. */
  close(): Promise<void>;
  /**
   * The lifetime manager of each hub on this backplane, for a backplane that joins a cluster
   * speaking another format (`AspNetCoreRedisBackplane` speaks ASP.NET Core's). Without it, hubs
   * use ScaleOutLifetimeManager and hubwire's own format.
   */
  lifetimeManagerFor?(options: ScaleOutOptions): HubLifetimeManager;
}

/** See Backplane.watchLinks. */
export interface BackplaneLinkEvents {
  /** A connection that receives from the engine closed: what is published until it is back does not reach this server. */
  dropped(drop: LinkDrop): void;
  /** The connections are back (the subscribing ones with their subscriptions made again). */
  restored(): void;
}

/** See BackplaneLinkEvents.dropped. */
export interface LinkDrop {
  /** One of several such connections: what comes on the others still reaches this server. */
  partial: boolean;
  /**
   * The connection is one of several, each carrying some channels in order but keeping no order
   * with the others (a Redis Cluster's shards): a message on it may still have been on its way
   * when a later one came on another.
   */
  unordered: boolean;
  /** When (`Date.now()`) the connection was last known to deliver: what was published since may be lost (earlier than now where it was found silent, not closed). */
  since: number;
  /**
   * The channels (as subscribed) that may have lost messages, where only some did and the
   * backplane knows which: a Redis Cluster's slots handed to another shard.
   */
  channels?: readonly string[];
}
