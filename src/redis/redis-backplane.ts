import type { Redis, RedisOptions } from "ioredis";
import type { Backplane } from "../lifetime/backplane.js";
import { consoleLogger, LogWriter, type Logger } from "../logger.js";
import { requireOptional } from "../optional-dependency.js";
import { redisLog } from "./redis-log.js";

/** How long a subscription made while first connecting waits for Redis before going on without it. */
const startupWaitMs = 3_000;

export interface RedisBackplaneOptions {
  /** Where Redis is: `redis://[user:password@]host:port[/db]`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** More ioredis options (TLS, a retry strategy, ...), for both connections. */
  redis?: RedisOptions;
  /**
   * Starts every channel name. Redis pub/sub ignores the database number, so applications that
   * share a Redis need prefixes of their own. Default `hubwire`.
   */
  channelPrefix?: string;
  /** Where outages are reported. Default: warnings to stderr. */
  logger?: Logger;
}

/**
 * A backplane over Redis pub/sub, on two connections as Redis requires: one publishes, one
 * subscribes. While Redis is away, publishing fails within one reconnect attempt (a send must
 * not wait on it) and every subscription is made again once Redis is back.
 *
 * @example
 * const server = new HubServer({ backplane: new RedisBackplane({ url: process.env.REDIS_URL }) });
 */
export class RedisBackplane implements Backplane {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, (payload: Uint8Array) => void>();
  private readonly log: LogWriter;
  private readonly prefix: string;
  /** Settles when the subscriber is first connected with its channels subscribed. */
  private readonly firstReady: Promise<void>;
  private everReady = false;

  /** @param exactPrefix starts every channel as it is (ASP.NET Core adds no separator); internal. */
  constructor(options: RedisBackplaneOptions = {}, exactPrefix?: string) {
    const url = options.url ?? "redis://127.0.0.1:6379";
    this.log = LogWriter.for(options.logger ?? consoleLogger());
    this.prefix = exactPrefix ?? `${options.channelPrefix ?? "hubwire"}:`;
    // ioredis is an optional peer dependency: loaded here, so only Redis users install it.
    const { Redis: RedisClient } = requireOptional<typeof import("ioredis")>("ioredis");
    // A publish made while disconnected fails at the next reconnect attempt instead of waiting.
    this.publisher = new RedisClient(url, { ...options.redis, maxRetriesPerRequest: 0 });
    // Subscriptions are remade from `handlers` on every (re)connect, however long the outage.
    this.subscriber = new RedisClient(url, { ...options.redis, maxRetriesPerRequest: null, autoResubscribe: false });
    let markReady: () => void;
    this.firstReady = new Promise((resolve) => (markReady = resolve));
    this.subscriber.on("ready", () => {
      const channels = [...this.handlers.keys()];
      const subscribed = channels.length > 0 ? this.subscriber.subscribe(...channels) : Promise.resolve();
      subscribed.then(
        () => {
          this.everReady = true;
          markReady();
        },
        (error: unknown) => this.log.write(redisLog.resubscribeFailed, { error }),
      );
    });
    this.subscriber.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      try {
        this.handlers.get(channel.toString())?.(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
      } catch (error) {
        // A throwing handler must not break the subscriber connection's reader.
        this.log.write(redisLog.handlerThrew, { channel: channel.toString(), error });
      }
    });
    this.reportOutages(this.publisher, "publisher");
    this.reportOutages(this.subscriber, "subscriber");
  }

  async publish(name: string, payload: Uint8Array): Promise<number> {
    return this.publisher.publish(this.prefix + name, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  async subscribe(name: string, onMessage: (payload: Uint8Array) => void): Promise<void> {
    const channel = this.prefix + name;
    this.handlers.set(channel, onMessage);
    // Starting up: wait for the first connection, briefly (it subscribes to every channel known then).
    if (!this.everReady) await Promise.race([this.firstReady, delay(startupWaitMs)]);
    // Subscribing twice is harmless; while Redis is away the channel is subscribed on reconnecting.
    if (this.subscriber.status === "ready") await this.subscriber.subscribe(channel);
  }

  async unsubscribe(name: string): Promise<void> {
    const channel = this.prefix + name;
    const handler = this.handlers.get(channel);
    if (!handler) return;
    // The handler hears what Redis delivers until the unsubscribe is done: a publish that counted
    // this server as a receiver is never dropped here unheard (a forwarded request waits for its answer).
    if (this.subscriber.status === "ready") await this.subscriber.unsubscribe(channel).finally(() => this.forget(channel, handler));
    else this.forget(channel, handler);
  }

  /** Drops a channel's handler, unless the channel was subscribed again meanwhile. */
  private forget(channel: string, handler: (payload: Uint8Array) => void): void {
    if (this.handlers.get(channel) === handler) this.handlers.delete(channel);
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.all([this.publisher, this.subscriber].map((client) => (client.status === "ready" ? client.quit() : client.disconnect())));
  }

  /** One warning when Redis goes away, one line when it is back (ioredis reports every failed retry). */
  private reportOutages(client: Redis, role: string): void {
    let down = false;
    client.on("error", (error: Error) => {
      if (down) return;
      down = true;
      this.log.write(redisLog.unreachable, { role, error });
    });
    client.on("ready", () => {
      if (!down) return;
      down = false;
      this.log.write(redisLog.reachableAgain, { role });
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
