import { logEvents } from "../logger.js";

/** Every line the Redis backplane logs, with its level. */
export const redisLog = logEvents({
  resubscribeFailed: { level: "warn", message: "Redis resubscribe failed" },
  unreachable: { level: "warn", message: "Redis unreachable; retrying" },
  noAnswer: { level: "warn", message: "Redis did not answer in time; reconnecting" },
  endedByClient: { level: "warn", message: "ioredis gave a Redis link up; connecting it again" },
  reachableAgain: { level: "info", message: "Redis reachable again" },
  slotsMoved: { level: "info", message: "Hash slots of subscribed channels moved to another Redis Cluster shard; subscribing there" },
});
