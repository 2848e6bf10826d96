import { Buffer } from "node:buffer";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { HubwireError } from "../errors.js";
import type { Backplane, BackplaneLinkEvents, LinkDrop } from "../lifetime/backplane.js";
import { consoleLogger, LogWriter, type Logger } from "../logger.js";
import { endedByRedis, forgetRepeatedChannels, shardSubscriberBack, shardSubscriberConnections, subscribedSlots } from "./ioredis-internals.js";
import { reportOutages, reportShardOutages } from "./outage-reports.js";
import { clusterLinks, singleRedisLinks, type RedisClusterOptions, type RedisLinks } from "./redis-links.js";
import { lifetimeLog } from "../lifetime/lifetime-log.js";
import { redisLog } from "./redis-log.js";
import { SlotOwners } from "./slot-owners.js";

export type { RedisClusterOptions } from "./redis-links.js";

export interface RedisBackplaneOptions {
  /** Where Redis is: `redis://[user:password@]host:port[/db]`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /**
   * More ioredis options (TLS, a retry strategy, Sentinel's `sentinels` and `name`, ...), for
   * both connections. `failoverDetector` is on unless set: after a Sentinel failover, both
   * connections move to the new master (docs/scale-out.md, "Redis with Sentinel"). A retry
   * strategy may space the attempts out but not stop them: a link ioredis ends is connected
   * again while the backplane is open.
   */
  redis?: RedisOptions;
  /**
   * A Redis Cluster instead of one Redis (`url` and `redis` are then ignored): channels use
   * sharded pub/sub (Redis 7 SPUBLISH, SSUBSCRIBE), so each lives on the shard that owns its
   * hash slot and a send to a group or a connection touches that one shard. docs/scale-out.md
   * says what is sharded and what it costs.
   */
  cluster?: RedisClusterOptions;
  /**
   * Starts every channel name. Redis pub/sub ignores the database number, so applications that
   * share a Redis need prefixes of their own. Default `hubwire`.
   */
  channelPrefix?: string;
  /** Where outages are reported. Default: warnings to stderr. */
  logger?: Logger;
  /**
   * How long a publish waits for Redis to answer before it fails and the publishing connection
   * is made again (a link that silently drops everything never closes by itself). The
   * subscribing connection is checked as often, with a PING answered in as long. Default 2 000 ms.
   */
  publishTimeout?: number;
}

/**
 * A backplane over Redis pub/sub, on two connections as Redis requires: one publishes, one
 * subscribes. While the publishing connection is down, a publish fails at once (nothing waits
 * on Redis: the scale-out manager holds what it could not publish), and one that gets no answer
 * within `publishTimeout` fails and makes that connection again. Every subscription is made
 * again once Redis is back.
 *
 * Given `cluster`, it works on a Redis Cluster with sharded pub/sub: the publishing side is a
 * cluster client that sends each message to its channel's shard, the subscribing side holds a
 * connection per shard; a shard that restarts, fails over or hands its slots on gets its
 * subscriptions again.
 *
 * @example
 * const server = new HubServer({ backplane: new RedisBackplane({ url: process.env.REDIS_URL }) });
 * // On a Redis Cluster, with sharded pub/sub:
 * const sharded = new RedisBackplane({ cluster: { nodes: [{ host: "10.0.0.5", port: 7000 }, { host: "10.0.0.6", port: 7000 }] } });
 */
export class RedisBackplane implements Backplane {
  private readonly links: RedisLinks;
  private readonly publisher: Redis | Cluster;
  private readonly subscriber: Redis | Cluster;
  /**
   * Channels with a handler whose subscription Redis has not confirmed: made on the next
   * (re)connect, and tried again every `publishTimeout` while the subscriber is up.
   */
  private readonly unconfirmed = new Set<string>();
  /** Whether subscribing again failed, and has not succeeded since: one warning for a run of failures. */
  private resubscribeFailing = false;
  /** Subscriptions made again and not yet answered (see tellIfBack). */
  private resubscribing = 0;
  /** On a cluster, the shards (`host:port`) whose subscriber ended and ioredis has not made again yet. */
  private readonly remaking = new Set<string>();
  /** On a cluster, when each shard's subscriber last answered a PING: what it delivered until then arrived. */
  private readonly shardAnswered = new Map<string, number>();
  /** On a cluster, the connections of ioredis's shard subscribers already seen, each subscribed again to every channel (see madeAnew). */
  private readonly subscribedOn = new WeakSet<Redis>();
  /** On a cluster, whether the cluster client was ready since its last close was told (it closes again at each attempt to reconnect). */
  private clusterUp = false;
  /** On a cluster, who owned each hash slot at the last read of the slot map (see checkSlots). */
  private readonly slotOwners: SlotOwners;
  private readonly handlers = new Map<string, (payload: Uint8Array) => void>();
  /**
   * Channels whose unsubscribe Redis has not confirmed, with the handler it drops: a reconnect
   * meanwhile does not subscribe them again (the new connection never had them, and the
   * unsubscribe, sent on the old one, would leave them subscribed with no handler for good).
   */
  private readonly leaving = new Map<string, (payload: Uint8Array) => void>();
  private readonly log: LogWriter;
  private readonly prefix: string;
  /** Settles when the subscriber is first connected with its channels subscribed, or fails to connect. */
  private readonly subscriberStarted: Promise<void>;
  /** Settles when the publisher first connects or fails to. */
  private readonly publisherStarted: Promise<void>;
  private subscriberSettled = false;
  private publisherSettled = false;
  private readonly linkCheck: ReturnType<typeof setInterval>;
  /** Links found silent and being made again, until their socket closes (see remakeIfSilent). */
  private readonly remadeSilent = new WeakSet<Redis | Cluster>();
  /** Set by close: a link that ends from then on stays ended. */
  private closing = false;
  /** Told when a connection drops and when it is back (see watchLinks). */
  private readonly linkWatchers = new Set<BackplaneLinkEvents>();
  /** The publisher's socket while it gathers the writes of one event-loop turn (see gatherWrites). */
  private corked: { uncork(): void } | undefined;

  /** @param exactPrefix starts every channel as it is (ASP.NET Core adds no separator); internal. */
  constructor(options: RedisBackplaneOptions = {}, exactPrefix?: string) {
    const url = options.url ?? "redis://127.0.0.1:6379";
    const answerTimeout = options.publishTimeout ?? 2_000;
    if (!(answerTimeout > 0) || !Number.isFinite(answerTimeout)) {
      throw new HubwireError("ERR_INVALID_OPTION", `publishTimeout must be a positive number; got ${String(answerTimeout)}.`);
    }
    this.log = LogWriter.for(options.logger ?? consoleLogger());
    // A moved slot's replay starts a publishTimeout earlier still, for peers whose sends on its
    // channels the lifetime manager has none of to start from (see PeerReplays.linkDropped).
    this.slotOwners = new SlotOwners(answerTimeout);
    this.prefix = exactPrefix ?? `${options.channelPrefix ?? "hubwire"}:`;
    // ioredis is an optional peer dependency, loaded by the links: only Redis users install it.
    this.links = options.cluster
      ? clusterLinks(options.cluster, { answerTimeout })
      : singleRedisLinks(url, options.redis, { answerTimeout });
    ({ publisher: this.publisher, subscriber: this.subscriber } = this.links);
    this.linkCheck = setInterval(() => {
      if (this.subscriber.status !== "ready") return;
      // ioredis says it remade its shard subscribers before one it was still starting then is up,
      // and may not say so again once it is: asked here too, or the links would never be back.
      if (this.remaking.size > 0 && this.forgetRemade() && this.unconfirmed.size === 0) this.tellIfBack();
      // What Redis refused is tried again (a restarted cluster refuses for a while: CLUSTERDOWN),
      // on a cluster once no shard's subscriber is still being made again.
      if (this.unconfirmed.size > 0 && this.remaking.size === 0) void this.resubscribe([...this.unconfirmed]);
      // A subscriber hears nothing on a link that silently drops everything: a PING finds out.
      // On a cluster, each shard's: one ended is made again by ioredis (see onSubscribersRemade).
      if (!this.links.resubscribesItself) this.subscriber.ping().catch((error: Error) => this.remakeIfSilent(this.subscriber, "subscriber", error));
      else {
        for (const [node, shard] of shardSubscriberConnections(this.subscriber as Cluster, true) ?? []) {
          const sentAt = Date.now();
          shard.ping().then(
            () => this.shardAnswered.set(node, sentAt),
            (error: Error) => this.remakeIfSilent(shard, "subscriber", error, node),
          );
        }
        this.checkSlots();
      }
    }, answerTimeout);
    this.linkCheck.unref();
    // Starting up, publishes and subscriptions wait for the first connection attempt, and no longer.
    let publisherUp: () => void;
    this.publisherStarted = new Promise<void>((resolve) => (publisherUp = resolve)).then(() => void (this.publisherSettled = true));
    this.publisher.once("ready", () => publisherUp());
    this.publisher.once("error", () => publisherUp());
    // Closed before its first attempt ended: what waits for it fails as on a connection that is down.
    this.publisher.once("end", () => publisherUp());
    let subscriberUp: () => void;
    this.subscriberStarted = new Promise<void>((resolve) => (subscriberUp = resolve)).then(() => void (this.subscriberSettled = true));
    this.subscriber.once("error", () => subscriberUp());
    this.subscriber.once("end", () => subscriberUp());
    this.subscriber.on("ready", () => {
      // One Redis's subscriber remakes nothing itself. A cluster's remakes what it knew, but may
      // lose some of it (see onSubscribersRemade). Starting up, nobody waits longer for it.
      if (this.links.resubscribesItself) {
        this.clusterUp = true;
        this.checkSlots(); // the first read to compare with, or a move while it was away
      }
      this.resubscribe(!this.links.resubscribesItself || this.madeAnew() ? this.wanted() : [...this.unconfirmed]).then(() => subscriberUp());
    });
    // On one Redis, a restart closes both connections. A cluster's clients stay ready while a
    // shard restarts, and its subscriber there ends.
    if (!this.links.resubscribesItself) {
      this.publisher.on("ready", () => this.tellIfBack());
      // Only the subscriber's: a publisher that drops fails its publishes, which the outbox sends again.
      this.subscriber.on("close", () => this.tellWatchers({ partial: false, unordered: false, since: Date.now() }));
    } else {
      // A shard's subscriber ended (its shard restarted, its connection was killed): what that
      // shard publishes until ioredis makes it again is lost to this server, what the others
      // publish is not. The pool's own connections end with no shard named.
      this.subscriber.on("-node", (_redis: unknown, node?: string) => {
        if (node === undefined) return;
        this.remaking.add(node);
        // Found silent by its PING, it may have stopped delivering long before it ended; one that
        // never answered one may never have delivered: as far back as anything is remembered.
        this.tellWatchers({ partial: true, unordered: true, since: this.shardAnswered.get(node) ?? 0 });
      });
      // When no node answers it (ioredis's ClusterAllFailedError), the cluster client closes as a
      // whole, ending every shard's subscriber with no `-node` for any, and makes them all again
      // once it reconnects.
      this.subscriber.on("close", () => {
        if (!this.clusterUp) return;
        this.clusterUp = false;
        this.tellWatchers({ partial: false, unordered: true, since: Date.now() });
      });
      this.subscriber.on("subscribersReady", () => this.onSubscribersRemade());
      // The slot of a subscribed channel was handed to another shard: no need to wait for the next read of the map.
      this.subscriber.on("nodeError", (error: Error) => {
        if (!endedByRedis(error)) return;
        this.slotOwners.ended(Date.now());
        this.checkSlots();
      });
    }
    this.subscriber.on(this.links.messageEvent, (channel: Buffer, message: Buffer) => {
      try {
        this.handlers.get(channel.toString())?.(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
      } catch (error) {
        // A throwing handler must not break the subscriber connection's reader.
        this.log.write(lifetimeLog.backplaneHandlerThrew, { channel: channel.toString(), error });
      }
    });
    reportOutages(this.publisher, "publisher", this.log);
    reportOutages(this.subscriber, "subscriber", this.log);
    // A cluster client ends only when its clusterRetryStrategy gives up, and drops its shard
    // subscribers' listeners then: it is not connected again.
    if (!this.links.resubscribesItself) {
      this.connectAgainWhenEnded(this.publisher as Redis, "publisher", answerTimeout);
      this.connectAgainWhenEnded(this.subscriber as Redis, "subscriber", answerTimeout);
    }
    if (options.cluster) reportShardOutages(this.publisher as Cluster, this.subscriber as Cluster, this.log);
  }

  async publish(name: string, payload: Uint8Array): Promise<number> {
    if (!this.publisherSettled) await this.publisherStarted;
    const channel = this.prefix + name;
    this.gatherWrites();
    try {
      return await this.links.publish(channel, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
    } catch (error) {
      this.remakeIfSilent(this.publisher, "publisher", error as Error);
      throw error;
    }
  }

  async subscribe(name: string, onMessage: (payload: Uint8Array) => void): Promise<void> {
    const channel = this.prefix + name;
    this.handlers.set(channel, onMessage);
    // Starting up: wait for the first connection attempt (it subscribes to every channel known then).
    if (!this.subscriberSettled) await this.subscriberStarted;
    // Left (or subscribed again, by a call that subscribes itself) meanwhile: subscribing now
    // would leave the channel subscribed with no handler.
    if (this.handlers.get(channel) !== onMessage) return;
    // Subscribing twice is harmless; while Redis is away the channel is subscribed on reconnecting.
    if (this.subscriber.status !== "ready") {
      this.unconfirmed.add(channel);
      return;
    }
    try {
      await this.links.subscribe([channel]);
    } catch (error) {
      this.unconfirmed.add(channel);
      throw error;
    }
  }

  async unsubscribe(name: string): Promise<void> {
    const channel = this.prefix + name;
    this.unconfirmed.delete(channel);
    const handler = this.handlers.get(channel);
    if (!handler) return;
    // The handler hears what Redis delivers until the unsubscribe is done: a publish that counted
    // this server as a receiver is never dropped here unheard (a forwarded request waits for its answer).
    if (this.subscriber.status !== "ready") {
      // A cluster client keeps its own record of the channels, kept while it is away and
      // subscribed again when it is back: the SUNSUBSCRIBE takes the channel out of it when
      // ioredis sends it, queued until then (not awaited: it would wait as long as the outage).
      // One Redis's subscriber remakes nothing itself: forgetting the handler is enough.
      if (this.links.resubscribesItself) void this.links.unsubscribe(channel).catch(() => undefined);
      return this.forget(channel, handler);
    }
    this.leaving.set(channel, handler);
    await this.links.unsubscribe(channel).finally(() => {
      if (this.leaving.get(channel) === handler) this.leaving.delete(channel);
      this.forget(channel, handler);
    });
  }

  /**
   * Tells `events` when the subscribing connection to Redis closes (on a cluster, a shard's: a
   * partial drop), and when the connections are back (a subscriber once its channels are
   * subscribed again; on one Redis, the publisher too). See Backplane.watchLinks.
   */
  watchLinks(events: BackplaneLinkEvents): () => void {
    this.linkWatchers.add(events);
    return () => void this.linkWatchers.delete(events);
  }

  /** Tells the watchers a link dropped, or (with none) that the links are back. */
  private tellWatchers(drop?: LinkDrop): void {
    for (const watcher of this.linkWatchers) {
      if (drop) watcher.dropped(drop);
      else watcher.restored();
    }
  }

  /**
   * Tells the watchers the links are back, once the subscriber is up with every channel
   * subscribed: none refused, none on its way, no shard's subscriber still being made again. A
   * server that missed messages asks for them then, and the answer comes on a channel of its own.
   */
  private tellIfBack(): void {
    if (this.subscriber.status !== "ready" || this.resubscribing > 0 || this.unconfirmed.size > 0 || this.remaking.size > 0) return;
    this.tellWatchers();
  }

  /**
   * Holds the publisher's writes (Node's cork) until the end of this event-loop turn: the
   * publishes made meanwhile (a burst of sends, the replies to the messages of one read) reach
   * Redis in one socket write instead of one each, and Redis reads them, and writes them on to
   * the other servers, in fewer system calls too. Every write costs one and wakes the reader,
   * whatever its size. A publish waits for the rest of the turn's callbacks, never for a timer
   * (until the running code returns only, a microtask, gathered far fewer: docs/scale-out.md).
   * A socket that drops meanwhile fails them as it would have failed them one by one.
   */
  private gatherWrites(): void {
    if (this.corked) return;
    const socket = this.links.publisherSocket();
    if (!socket) return;
    socket.cork();
    this.corked = socket;
    setImmediate(() => {
      this.corked = undefined;
      socket.uncork();
    });
  }

  /** Drops a channel's handler, unless the channel was subscribed again meanwhile. */
  private forget(channel: string, handler: (payload: Uint8Array) => void): void {
    if (this.handlers.get(channel) === handler) this.handlers.delete(channel);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.linkCheck);
    this.handlers.clear();
    this.unconfirmed.clear();
    this.leaving.clear();
    await Promise.all([this.publisher, this.subscriber].map((client) => this.end(client)));
  }

  /**
   * QUIT where the connection is up, so that what was sent before is answered; one that drops
   * meanwhile, or a link that never answers (after publishTimeout), is ended all the same: the
   * backplane is closed either way, and its close must not fail because Redis went.
   */
  private async end(client: Redis | Cluster): Promise<void> {
    if (client.status !== "ready") return client.disconnect();
    await client.quit().catch(() => client.disconnect());
    // QUIT ends one Redis's connection, but not what ioredis keeps beside it: found through
    // Sentinel, its subscriptions to the Sentinels' failovers (see singleRedisLinks).
    if (!this.links.resubscribesItself) client.disconnect();
  }

  /**
   * Subscribes again every channel with a handler: on a cluster, ioredis remakes a restarted
   * shard's subscriptions itself and drops a failure silently, so one may be lost for good.
   * ScaleOutLifetimeManager calls it when its server stops hearing its own heartbeats.
   *
   * @example
   * await backplane.resubscribeAll(); // harmless when every subscription is in place
   */
  async resubscribeAll(): Promise<void> {
    if (this.subscriber.status === "ready") await this.resubscribe(this.wanted());
  }

  /**
   * Subscribes `channels` again. What fails stays unconfirmed, for the next try (see
   * `unconfirmed`); a run of failures is logged once. Then the links may be back (tellIfBack).
   */
  private async resubscribe(channels: string[]): Promise<void> {
    if (channels.length === 0) return this.tellIfBack();
    for (const channel of channels) this.unconfirmed.delete(channel);
    this.resubscribing++;
    try {
      await this.links.subscribe(channels);
      this.resubscribeFailing = false;
    } catch (error) {
      for (const channel of channels) if (this.handlers.has(channel)) this.unconfirmed.add(channel);
      if (!this.resubscribeFailing) this.log.write(redisLog.resubscribeFailed, { error });
      this.resubscribeFailing = true;
    } finally {
      this.resubscribing--;
      if (this.links.resubscribesItself) forgetRepeatedChannels(this.subscriber as Cluster);
    }
    this.tellIfBack();
  }

  /**
   * ioredis tried to make its shard subscribers again. One made anew subscribes the channels
   * ioredis knows for its shard, but drops a refusal without a word (a restarted shard refuses
   * SSUBSCRIBE for a while: CLUSTERDOWN), and the channel would stay unsubscribed for good. So
   * once ioredis made a shard's subscriber anew, every channel is subscribed again here
   * (subscribing twice is harmless); what fails is tried again. Otherwise, only what never got
   * through.
   */
  private onSubscribersRemade(): void {
    this.forgetRemade();
    // The cluster client reconnecting as a whole fires this at each attempt: its `ready` subscribes
    // again once (subscribed now, the channels would wait in its queue, once per attempt).
    if (this.subscriber.status !== "ready") return;
    void this.resubscribe(this.madeAnew() ? this.wanted() : [...this.unconfirmed]);
  }

  /** Forgets the shards whose subscriber is back (see `remaking`); whether none is left. */
  private forgetRemade(): boolean {
    for (const node of this.remaking) if (shardSubscriberBack(this.subscriber as Cluster, node)) this.remaking.delete(node);
    return this.remaking.size === 0;
  }

  /**
   * Whether ioredis made a shard subscriber's connection since the last call. Not only after a
   * shard's `-node`: reconnecting as a whole, the cluster client makes them all anew with no
   * event for any. An ioredis that does not show its subscribers: taken as yes.
   */
  private madeAnew(): boolean {
    const connections = shardSubscriberConnections(this.subscriber as Cluster, false);
    if (!connections) return true;
    let fresh = false;
    for (const [, connection] of connections) {
      if (this.subscribedOn.has(connection)) continue;
      this.subscribedOn.add(connection);
      fresh = true;
    }
    return fresh;
  }

  /**
   * A resharding or a failover hands hash slots to another shard, and the old owner ends every
   * subscription in them. ioredis takes no notice: it reads the slot map again when a command is
   * MOVED, and a subscriber sends none, so the channels would stay unsubscribed for good. So the
   * map is read every `publishTimeout`, and at once when Redis ends a subscription itself. Where
   * a slot of a subscribed channel has another owner, what was published there since it was last
   * known in place (see SlotOwners.take) may be lost: a drop of that link, with the slot's
   * channels, is told, and they are subscribed on their new owner before the links are back.
   */
  private checkSlots(): void {
    const cluster = this.subscriber as Cluster;
    const askedAt = Date.now();
    cluster.refreshSlotsCache((error) => {
      if (error) return;
      const record = subscribedSlots(cluster);
      const watched = record && [...record].filter(([, channels]) => channels.length > 0).map(([slot]) => slot);
      const moved = this.slotOwners.take(cluster.slots, askedAt, watched);
      if (moved.slots.length === 0) return;
      const wanted = this.wanted();
      const inMoved = record && new Set(moved.slots.flatMap((slot) => record.get(slot) ?? []));
      const channels = inMoved ? wanted.filter((channel) => inMoved.has(channel)) : wanted;
      if (channels.length === 0) return;
      this.log.write(redisLog.slotsMoved, { slots: moved.slots.length, channels: channels.length });
      const names = channels.map((channel) => channel.slice(this.prefix.length));
      this.tellWatchers({ partial: true, unordered: true, since: moved.since, channels: names });
      void this.resubscribe(channels);
    });
  }

  /** Every channel with a handler, but those on their way out (see `leaving`), unless subscribed again since. */
  private wanted(): string[] {
    const channels: string[] = [];
    for (const [channel, handler] of this.handlers) if (this.leaving.get(channel) !== handler) channels.push(channel);
    return channels;
  }

  /**
   * No answer in time: the link may drop everything without ever closing, so make it again.
   * Once per connection: the publishes in flight on it time out together, and it stays ready
   * until its socket has closed.
   */
  private remakeIfSilent(client: Redis | Cluster, role: string, error: Error, node?: string): void {
    if (error.message !== "Command timed out" || client.status !== "ready" || this.remadeSilent.has(client)) return;
    this.remadeSilent.add(client);
    client.once("close", () => this.remadeSilent.delete(client));
    this.log.write(redisLog.noAnswer, node === undefined ? { role, error } : { role, node, error });
    client.disconnect(true);
  }

  /**
   * ioredis ends a link for good, retrying no more, in races of its own. One: through Sentinel,
   * its failover detector hears of the failover while the link, already reconnecting, asks a
   * Sentinel where the master is; it takes the answer as coming too late and gives the link up.
   * Until the backplane closes, an ended link connects again: at once, then waiting twice as
   * long each time it ends again before it is ready, up to `maxWait`.
   */
  private connectAgainWhenEnded(client: Redis, role: string, maxWait: number): void {
    let endedInARow = 0;
    client.on("ready", () => (endedInARow = 0));
    client.on("end", () => {
      if (this.closing) return;
      // Once until the link is ready again: a link ended at each attempt must not fill the log.
      if (endedInARow === 0) this.log.write(redisLog.endedByClient, { role });
      const wait = endedInARow === 0 ? 0 : Math.min(50 * 2 ** endedInARow, maxWait);
      endedInARow++;
      setTimeout(() => {
        if (!this.closing && client.status === "end") client.connect().catch(() => undefined);
      }, wait).unref();
    });
  }
}
