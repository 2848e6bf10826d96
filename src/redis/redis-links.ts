import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from "ioredis";
import { requireOptional } from "../optional-dependency.js";

/** A Redis Cluster to publish and subscribe on, with sharded pub/sub (see RedisBackplaneOptions.cluster). */
export interface RedisClusterOptions {
  /** Some of the cluster's nodes, to discover the others from: `{ host, port }` or `redis://host:port`. */
  nodes: ClusterNode[];
  /** More ioredis Cluster options (NAT mapping, `redisOptions` with a password or TLS, ...). */
  options?: ClusterOptions;
}

/**
 * The two Redis links of a backplane, one to publish and one to subscribe, to a single Redis
 * (PUBLISH, SUBSCRIBE) or to a Redis Cluster (SPUBLISH, SSUBSCRIBE: each channel lives on the
 * shard that owns its hash slot). RedisBackplane holds what both share: timeouts, outage
 * reports, the handlers.
 */
export interface RedisLinks {
  readonly publisher: Redis | Cluster;
  readonly subscriber: Redis | Cluster;
  /** The event a received message comes with: `(channel: Buffer, message: Buffer)`. */
  readonly messageEvent: "messageBuffer" | "smessageBuffer";
  /** Whether a subscriber back from an outage remakes the subscriptions itself (ioredis's Cluster does, per shard). */
  readonly resubscribesItself: boolean;
  publish(channel: string, message: Buffer): Promise<number>;
  /** The publisher's socket while it is ready, for gathering writes; none on a cluster (a socket per shard). */
  publisherSocket(): { cork(): void; uncork(): void } | undefined;
  /** One command per channel on a cluster (SSUBSCRIBE takes channels of one slot only). */
  subscribe(channels: string[]): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

/** Settings the backplane imposes on both links, whichever kind. */
export interface LinkSettings {
  /** How long a command may wait for its answer. */
  answerTimeout: number;
}

/** Links to one Redis: a publisher without an offline queue, a subscriber that retries for ever. */
export function singleRedisLinks(url: string, given: RedisOptions | undefined, { answerTimeout }: LinkSettings): RedisLinks {
  const { Redis: RedisClient } = requireOptional<typeof import("ioredis")>("ioredis");
  // Found through Sentinel, a master that hands its role on without going down (SENTINEL
  // FAILOVER, a failover of a master Sentinel found unreachable but that stayed up) would keep
  // the links, on a replica from then on: a server that connects afterwards, to the new master,
  // would not hear this one. ioredis follows a failover's word (`+switch-master`) only when told to.
  const options: RedisOptions = { failoverDetector: true, ...given };
  // A publish while disconnected fails at once, and one in flight when the connection drops
  // fails then, never sent again by ioredis: whoever publishes decides what to send again, in order.
  const publisher = new RedisClient(url, {
    ...options,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: answerTimeout,
  });
  // Subscriptions are remade by the backplane on every (re)connect, however long the outage, from
  // the channels it needs then. A (UN)SUBSCRIBE in flight when the connection dropped is not sent
  // again by ioredis: sent before the backplane's own, it would subscribe again a channel left
  // meanwhile, for good and with no handler (it fails after answerTimeout instead).
  const subscriber = new RedisClient(url, {
    ...options,
    maxRetriesPerRequest: null,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: answerTimeout,
  });
  return {
    publisher,
    subscriber,
    messageEvent: "messageBuffer",
    resubscribesItself: false,
    publish: (channel, message) => publisher.publish(channel, message),
    publisherSocket: () => (publisher.status === "ready" ? (publisher as unknown as { stream?: { cork(): void; uncork(): void } }).stream : undefined),
    subscribe: (channels) => subscriber.subscribe(...channels),
    unsubscribe: (channel) => subscriber.unsubscribe(channel),
  };
}

/**
 * Links to a Redis Cluster over sharded pub/sub. The publisher sends each SPUBLISH to the master
 * of the channel's slot (following MOVED after a resharding or a failover), failing at once
 * while that shard is unreachable. The subscriber holds one connection per master that owns a
 * subscribed channel, and ioredis remakes a shard's subscriptions when the shard comes back or
 * its slots move.
 */
export function clusterLinks({ nodes, options }: RedisClusterOptions, { answerTimeout }: LinkSettings): RedisLinks {
  const { Cluster: ClusterClient } = requireOptional<typeof import("ioredis")>("ioredis");
  const redisOptions = { ...options?.redisOptions, commandTimeout: answerTimeout };
  // A publish that fails is not tried again by ioredis (after a delay, through a random node:
  // out of order), it fails: the outbox sends it again, in order. MOVED is still followed at once.
  const publisher = new ClusterClient(nodes, {
    ...options,
    enableOfflineQueue: false,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 0,
    retryDelayOnTryAgain: 0,
    retryDelayOnMoved: 0,
    redisOptions: { ...redisOptions, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false },
  });
  const subscriber = new ClusterClient(nodes, {
    ...options,
    shardedSubscribers: true,
    redisOptions: { ...redisOptions, maxRetriesPerRequest: null },
  });
  return {
    publisher,
    subscriber,
    messageEvent: "smessageBuffer",
    resubscribesItself: true,
    publish: (channel, message) => publisher.spublish(channel, message) as Promise<number>,
    publisherSocket: () => undefined,
    subscribe: (channels) => Promise.all(channels.map((channel) => subscriber.ssubscribe(channel))),
    unsubscribe: (channel) => subscriber.sunsubscribe(channel),
  };
}
