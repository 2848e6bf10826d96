import type { Cluster, Redis } from "ioredis";
import type { LogWriter } from "../logger.js";
import { endedByRedis, shardSubscriberBack } from "./ioredis-internals.js";
import { redisLog } from "./redis-log.js";

/**
 * One warning when Redis goes away, one line when it is back: ioredis reports every failed
 * retry, and an outage of minutes must not fill the log.
 */
export function reportOutages(client: Redis | Cluster, role: string, log: LogWriter): void {
  let down = false;
  client.on("error", (error: Error) => {
    if (down) return;
    down = true;
    log.write(redisLog.unreachable, { role, error });
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    log.write(redisLog.reachableAgain, { role });
  });
}

/**
 * On a cluster, one shard may go while the cluster clients stay ready: one warning per shard
 * when it goes, one line when the publisher reaches it again or its subscriber is back.
 */
export function reportShardOutages(publisher: Cluster, subscriber: Cluster, log: LogWriter): void {
  const down = new Set<string>();
  const report = (role: string) => (error: Error, node: string) => {
    if (endedByRedis(error)) return; // not an outage: a slot moved (see RedisBackplane.checkSlots)
    if (down.has(`${role} ${node}`)) return;
    down.add(`${role} ${node}`);
    log.write(redisLog.unreachable, { role, node, error });
  };
  const back = (role: string, node: string) => {
    if (down.delete(`${role} ${node}`)) log.write(redisLog.reachableAgain, { role, node });
  };
  publisher.on("node error", report("publisher"));
  subscriber.on("nodeError", report("subscriber"));
  publisher.on("+node", (redis: Redis) => redis.once("ready", () => back("publisher", `${redis.options.host}:${redis.options.port}`)));
  subscriber.on("subscribersReady", () => {
    for (const key of down) {
      if (!key.startsWith("subscriber ")) continue;
      const node = key.slice("subscriber ".length);
      if (shardSubscriberBack(subscriber, node)) back("subscriber", node);
    }
  });
}
