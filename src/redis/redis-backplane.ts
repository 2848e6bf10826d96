import type { Redis, RedisOptions } from "ioredis";
import { HubwireError } from "../errors.js";
import type { Backplane } from "../lifetime/backplane.js";
import { consoleLogger, LogWriter, type Logger } from "../logger.js";
import { requireOptional } from "../optional-dependency.js";
import { redisLog } from "./redis-log.js";

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
 * @example
 * const server = new HubServer({ backplane: new RedisBackplane({ url: process.env.REDIS_URL }) });
 */
export class RedisBackplane implements Backplane {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, (payload: Uint8Array) => void>();
  private readonly log: LogWriter;
  private readonly prefix: string;
  /** Settles when the subscriber is first connected with its channels subscribed, or fails to connect. */
  private readonly subscriberStarted: Promise<void>;
  /** Settles when the publisher first connects or fails to. */
  private readonly publisherStarted: Promise<void>;
  private subscriberSettled = false;
  private publisherSettled = false;
  private readonly linkCheck: ReturnType<typeof setInterval>;

  /** @param exactPrefix starts every channel as it is (ASP.NET Core adds no separator); internal. */
  constructor(options: RedisBackplaneOptions = {}, exactPrefix?: string) {
    const url = options.url ?? "redis://127.0.0.1:6379";
    const answerTimeout = options.publishTimeout ?? 2_000;
    if (!(answerTimeout > 0) || !Number.isFinite(answerTimeout)) {
      throw new HubwireError("ERR_INVALID_OPTION", `publishTimeout must be a positive number; got ${String(answerTimeout)}.`);
    }
    this.log = LogWriter.for(options.logger ?? consoleLogger());
    this.prefix = exactPrefix ?? `${options.channelPrefix ?? "hubwire"}:`;
    // ioredis is an optional peer dependency: loaded here, so only Redis users install it.
    const { Redis: RedisClient } = requireOptional<typeof import("ioredis")>("ioredis");
    // A publish while disconnected fails at once, and one in flight when the connection drops
    // fails then, never sent again by ioredis: whoever publishes decides what to send again, in order.
    this.publisher = new RedisClient(url, {
      ...options.redis,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      commandTimeout: answerTimeout,
    });
    // Subscriptions are remade from `handlers` on every (re)connect, however long the outage.
    this.subscriber = new RedisClient(url, {
      ...options.redis,
      maxRetriesPerRequest: null,
      autoResubscribe: false,
      commandTimeout: answerTimeout,
    });
    // A subscriber hears nothing on a link that silently drops everything: a PING finds out.
    this.linkCheck = setInterval(() => {
      if (this.subscriber.status !== "ready") return;
      this.subscriber.ping().catch((error: Error) => this.remakeIfSilent(this.subscriber, "subscriber", error));
    }, answerTimeout);
    this.linkCheck.unref();
    // Starting up, publishes and subscriptions wait for the first connection attempt, and no longer.
    let publisherUp: () => void;
    this.publisherStarted = new Promise<void>((resolve) => (publisherUp = resolve)).then(() => void (this.publisherSettled = true));
    this.publisher.once("ready", () => publisherUp());
    this.publisher.once("error", () => publisherUp());
    let subscriberUp: () => void;
    this.subscriberStarted = new Promise<void>((resolve) => (subscriberUp = resolve)).then(() => void (this.subscriberSettled = true));
    this.subscriber.once("error", () => subscriberUp());
    this.subscriber.on("ready", () => {
      const channels = [...this.handlers.keys()];
      const subscribed = channels.length > 0 ? this.subscriber.subscribe(...channels) : Promise.resolve();
      subscribed.then(
        () => subscriberUp(),
        (error: unknown) => {
          this.log.write(redisLog.resubscribeFailed, { error });
          subscriberUp(); // starting up, nobody waits longer for it
        },
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
    if (!this.publisherSettled) await this.publisherStarted;
    try {
      return await this.publisher.publish(this.prefix + name, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
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
    clearInterval(this.linkCheck);
    this.handlers.clear();
    await Promise.all([this.publisher, this.subscriber].map((client) => (client.status === "ready" ? client.quit() : client.disconnect())));
  }

  /** No answer in time: the link may drop everything without ever closing, so make it again. */
  private remakeIfSilent(client: Redis, role: string, error: Error): void {
    if (error.message !== "Command timed out" || client.status !== "ready") return;
    this.log.write(redisLog.noAnswer, { role, error });
    client.disconnect(true);
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
