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
export function singleRedisLinks(url: string, options: RedisOptions | undefined, { answerTimeout }: LinkSettings): RedisLinks {
  const { Redis: RedisClient } = requireOptional<typeof import("ioredis")>("ioredis");
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

/** ioredis's group of shard subscribers (not its public API). */
interface SubscriberGroup {
  /** Each shard's subscriber, by `host:port`. */
  shardedSubscribers?: unknown;
  /** The channels ioredis subscribes again, by hash slot. */
  channels?: unknown;
}

const subscriberGroup = (cluster: Cluster) => (cluster as unknown as { shardedSubscribers?: SubscriberGroup }).shardedSubscribers;

/** ioredis's shard subscribers, by shard (`host:port`); none if an ioredis does not show them. */
function shardSubscribers(cluster: Cluster): Map<string, { subscriberStatus?: unknown; getInstance?(): Redis | null }> | undefined {
  const subscribers = subscriberGroup(cluster)?.shardedSubscribers;
  return subscribers instanceof Map ? subscribers : undefined;
}

/**
 * The channels ioredis's subscriber record holds, by hash slot (a channel once per SSUBSCRIBE
 * it was given); `undefined` if an ioredis does not show them.
 */
export function subscribedSlots(cluster: Cluster): ReadonlyMap<number, readonly string[]> | undefined {
  const channels = subscriberGroup(cluster)?.channels;
  return channels instanceof Map ? (channels as Map<number, readonly string[]>) : undefined;
}

/**
 * Leaves one entry per channel in ioredis's record (see subscribedSlots). Each SSUBSCRIBE adds
 * one, also for a channel the record holds, and ioredis subscribes every entry again when it
 * makes a shard's subscriber again: subscribing all channels again at each such remake, the
 * backplane would make the record, and each later remake, grow for good. ioredis removes every
 * entry of a channel left, so one is as good as several.
 */
export function forgetRepeatedChannels(cluster: Cluster): void {
  const channels = subscriberGroup(cluster)?.channels;
  if (!(channels instanceof Map)) return;
  for (const [slot, list] of channels as Map<number, string[]>) {
    const once = new Set(list);
    if (once.size < list.length) channels.set(slot, [...once]);
  }
}

/**
 * Whether ioredis's subscriber for a shard (`host:port`) is up again, or no longer needed. The
 * cluster client fires `subscribersReady` after each attempt to remake its shard subscribers,
 * also one that failed, so only that shard's subscriber can tell. An ioredis that does not
 * show its subscribers is taken at its word.
 */
export function shardSubscriberBack(cluster: Cluster, node: string): boolean {
  const subscribers = shardSubscribers(cluster);
  if (!subscribers) return true;
  const status = subscribers.get(node)?.subscriberStatus;
  // None: the shard no longer serves a channel of ours. Idle: it serves none we subscribe to.
  return status === undefined || status === "connected" || status === "idle";
}

/**
 * The connections of ioredis's shard subscribers, by shard (`host:port`): all it made, or
 * (`readyOnly`) those up, for a PING that finds one gone silent (ioredis checks none, and TCP
 * notices a link that drops everything only after minutes). `undefined` if an ioredis does not
 * show them.
 */
export function shardSubscriberConnections(cluster: Cluster, readyOnly: boolean): Array<[string, Redis]> | undefined {
  const subscribers = shardSubscribers(cluster);
  if (!subscribers) return undefined;
  const connections: Array<[string, Redis]> = [];
  for (const [node, subscriber] of subscribers) {
    const connection = subscriber.getInstance?.();
    if (connection && (!readyOnly || connection.status === "ready")) connections.push([node, connection]);
  }
  return connections;
}

/**
 * Whether ioredis reports a subscription that Redis ended on its own: a shard that hands a
 * hash slot to another sends SUNSUBSCRIBE for its channels, and ioredis, which expects that reply
 * only to its own command, reports it as an error of its command queue. Seen only while no
 * other command of that connection waits for its answer (one that does takes the reply as its own).
 */
export function endedByRedis(error: Error): boolean {
  return error.message.includes("Last reply: sunsubscribe,");
}
