import { HubwireError } from "../errors.js";
import { AspNetCoreLifetimeManager } from "../lifetime/aspnetcore-lifetime-manager.js";
import type { Backplane } from "../lifetime/backplane.js";
import type { HubLifetimeManager } from "../lifetime/hub-lifetime-manager.js";
import type { ScaleOutOptions } from "../lifetime/scale-out-lifetime-manager.js";
import { RedisBackplane, type RedisBackplaneOptions } from "./redis-backplane.js";

/** As RedisBackplane's, without `cluster`: ASP.NET Core's backplane uses classic pub/sub, which sharded channels do not reach. */
export interface AspNetCoreRedisBackplaneOptions extends Omit<RedisBackplaneOptions, "channelPrefix" | "cluster"> {
  /**
   * The .NET app's `RedisOptions.Configuration.ChannelPrefix`, exactly: it starts every channel
   * name with no separator added. Default none, as in ASP.NET Core.
   */
  channelPrefix?: string;
  /**
   * The .NET hub class each hubwire hub joins, by hubwire hub name (the `@HubClass` name, which
   * defaults to the class name): `typeof(THub).FullName`, e.g. `{ ChatHub: "MyApp.Hubs.ChatHub" }`.
   * Mapping a hub that is missing here throws ERR_INVALID_OPTION.
   */
  hubTypeNames: Readonly<Record<string, string>>;
  /** How long a group change for a connection on another server waits for its ack. Default 10 000 ms. */
  ackTimeout?: number;
}

/**
 * Joins hubwire's hubs to an ASP.NET Core SignalR app scaled out with
 * `AddStackExchangeRedis`: on one Redis, sends to all, groups, users and connections, group
 * changes and client results reach the clients of both kinds of server. Each hub speaks ASP.NET
 * Core's channels and messages (AspNetCoreLifetimeManager); the hubs' protocols must cover the
 * ones the .NET clients use (hubwire's default, JSON and MessagePack, does).
 *
 * @example
 * // .NET: builder.Services.AddSignalR().AddMessagePackProtocol().AddStackExchangeRedis("redis:6379",
 * //   o => o.Configuration.ChannelPrefix = RedisChannel.Literal("myapp"));
 * const server = new HubServer({
 *   backplane: new AspNetCoreRedisBackplane({
 *     url: "redis://redis:6379",
 *     channelPrefix: "myapp",
 *     hubTypeNames: { ChatHub: "MyApp.Hubs.ChatHub" },
 *   }),
 * });
 * server.mapHub("/chat", ChatHub);
 */
export class AspNetCoreRedisBackplane implements Backplane {
  private readonly redis: RedisBackplane;

  constructor(private readonly options: AspNetCoreRedisBackplaneOptions) {
    if ("cluster" in options) {
      throw new HubwireError("ERR_INVALID_OPTION", "AspNetCoreRedisBackplane does not take 'cluster': ASP.NET Core's backplane uses classic pub/sub, which sharded channels do not reach.");
    }
    const { channelPrefix, hubTypeNames: _, ackTimeout: __, ...redisOptions } = options;
    this.redis = new RedisBackplane(redisOptions, channelPrefix ?? "");
  }

  publish(channel: string, payload: Uint8Array): Promise<number> {
    return this.redis.publish(channel, payload);
  }

  subscribe(channel: string, onMessage: (payload: Uint8Array) => void): Promise<void> {
    return this.redis.subscribe(channel, onMessage);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.redis.unsubscribe(channel);
  }

  close(): Promise<void> {
    return this.redis.close();
  }

  /** The hub's lifetime manager, on the channels of its .NET hub type; throws ERR_INVALID_OPTION for a hub missing from hubTypeNames. */
  lifetimeManagerFor(options: ScaleOutOptions): HubLifetimeManager {
    const hubTypeName = this.options.hubTypeNames[options.hubName];
    if (!hubTypeName) {
      throw new HubwireError(
        "ERR_INVALID_OPTION",
        `AspNetCoreRedisBackplane has no .NET hub type for hub '${options.hubName}': add it to hubTypeNames.`,
      );
    }
    return new AspNetCoreLifetimeManager({ ...options, hubTypeName, ackTimeout: this.options.ackTimeout ?? options.ackTimeout });
  }
}
