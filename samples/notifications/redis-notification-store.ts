import { Redis, type ChainableCommander } from "ioredis";
import type { Notification, NotificationKind } from "./notification-types.js";
import { newestOf, NotificationStore, recentLimit } from "./notification-store.js";

/**
 * The sample's state in Redis, for several instances behind a load balancer: each instance
 * delivers over hubwire's Redis backplane and reads and writes the same state here. Keys:
 * `next-id`; sets `users`, `topics:<user>`, `subscribers:<topic>`; lists of notifications as
 * JSON, newest first, `personal:<user>`, `topic:<topic>`, `announcements`; the hash `unread`
 * (user -> count). Which connections a user has is hubwire's to know, not the store's.
 */
export class RedisNotificationStore extends NotificationStore {
  private readonly redis: Redis;

  /** `keyPrefix` starts every key, so that the sample can share a Redis with other data. */
  constructor(url: string, keyPrefix = "hubwire-notifications:") {
    super();
    this.redis = new Redis(url, { keyPrefix });
  }

  async create(kind: NotificationKind, fields: Omit<Notification, "id" | "kind" | "at">): Promise<Notification> {
    return { id: await this.redis.incr("next-id"), kind, ...fields, at: new Date().toISOString() };
  }

  knownUsers(): Promise<string[]> {
    return this.redis.smembers("users");
  }

  async remember(user: string): Promise<void> {
    await this.redis.sadd("users", user);
  }

  async topicsOf(user: string): Promise<string[]> {
    return (await this.redis.smembers(`topics:${user}`)).sort();
  }

  async subscribe(user: string, topic: string): Promise<void> {
    await run(this.redis.multi().sadd(`topics:${user}`, topic).sadd(`subscribers:${topic}`, user));
  }

  async unsubscribe(user: string, topic: string): Promise<void> {
    await run(this.redis.multi().srem(`topics:${user}`, topic).srem(`subscribers:${topic}`, user));
  }

  subscribersOf(topic: string): Promise<string[]> {
    return this.redis.smembers(`subscribers:${topic}`);
  }

  async record(notification: Notification, recipients: string[]): Promise<void> {
    const list =
      notification.kind === "personal" ? `personal:${recipients[0]}` : notification.kind === "topic" ? `topic:${notification.topic}` : "announcements";
    const transaction = this.redis.multi().lpush(list, JSON.stringify(notification)).ltrim(list, 0, recentLimit - 1);
    for (const user of recipients) transaction.hincrby("unread", user, 1);
    await run(transaction);
  }

  async unreadOf(user: string): Promise<number> {
    return Number((await this.redis.hget("unread", user)) ?? 0);
  }

  async markAllRead(user: string): Promise<void> {
    await this.redis.hset("unread", user, 0);
  }

  async recentOfTopic(topic: string): Promise<Notification[]> {
    return parseAll(await this.redis.lrange(`topic:${topic}`, 0, -1));
  }

  async recentFor(user: string): Promise<Notification[]> {
    const lists = [`personal:${user}`, "announcements", ...(await this.topicsOf(user)).map((t) => `topic:${t}`)];
    const pipeline = this.redis.pipeline();
    for (const list of lists) pipeline.lrange(list, 0, -1);
    return newestOf((await run(pipeline)).map((items) => parseAll(items as string[])));
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

function parseAll(items: string[]): Notification[] {
  return items.map((item) => JSON.parse(item) as Notification);
}

/** Runs a transaction or pipeline; the first failed command fails it all. */
async function run(commands: ChainableCommander): Promise<unknown[]> {
  const replies = (await commands.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
