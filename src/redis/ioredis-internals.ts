import type { Cluster, Redis } from "ioredis";

/*
 * What the Redis backplane reads of ioredis's cluster client beyond its public API, in one place:
 * its shard subscribers, its record of their channels, and the error a subscription that Redis
 * ended comes as. Each function has an answer for an ioredis that does not show them (see each);
 * the Redis Cluster tests fail if the installed ioredis stops showing its shard subscribers'
 * connections, its record, or that error.
 */

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
