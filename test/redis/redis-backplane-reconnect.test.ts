import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/index.js";
import { RedisBackplane, type RedisBackplaneOptions } from "../../src/redis/index.js";
import { redisLog } from "../../src/redis/redis-log.js";
import { recordingLogger } from "../support/chat-servers.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor, within } from "../support/wait.js";

/**
 * A server's subscribing connection drops (through a proxy the test cuts) while it subscribes to
 * or leaves a channel: once it is back, Redis holds exactly the channels it still needs. A channel
 * subscribed for good with no handler would make Redis count this server as a receiver of a
 * connection or group it no longer has.
 */
describe("RedisBackplane across a reconnect", () => {
  let redis: OwnRedis | undefined;
  let proxy: TcpProxy | undefined;
  let backplanes: RedisBackplane[] = [];
  afterEach(async () => {
    await Promise.all(backplanes.map((backplane) => backplane.close()));
    await proxy?.close();
    await redis?.stop();
    [backplanes, proxy, redis] = [[], undefined, undefined];
  });

  /**
   * A subscriber behind the proxy, and a publisher straight to Redis to count its receivers.
   * `more`: the subscriber's ioredis options and logger.
   */
  async function start(more: Pick<RedisBackplaneOptions, "redis" | "logger"> = {}) {
    redis = await startOwnRedis();
    proxy = await startTcpProxy(Number(new URL(redis.url).port));
    const options = { channelPrefix: "reconnect", logger: silentLogger, publishTimeout: 5_000 };
    const subscriber = new RedisBackplane({ ...options, ...more, url: proxy.url.replace("http:", "redis:") });
    const publisher = new RedisBackplane({ ...options, url: redis.url });
    backplanes.push(subscriber, publisher);
    const receivers = (channel: string) => publisher.publish(channel, new Uint8Array([0]));
    const status = () => (subscriber as unknown as { subscriber: { status: string } }).subscriber.status;
    await subscriber.subscribe("kept", () => {});
    return { subscriber, receivers, status, proxy };
  }

  it("does not subscribe a channel left while it was starting up", async () => {
    const { receivers } = await start();
    const starting = new RedisBackplane({ channelPrefix: "reconnect", logger: silentLogger, url: redis!.url });
    backplanes.push(starting);
    const subscribed = starting.subscribe("left", () => {});
    await starting.unsubscribe("left");
    await subscribed;
    await starting.subscribe("kept", () => {});
    expect(await receivers("kept")).toBe(2);
    expect(await receivers("left")).toBe(0);
  });

  it("settles the publishes and subscribes made before it first connected when it closes", async () => {
    redis = await startOwnRedis();
    const closing = new RedisBackplane({ channelPrefix: "reconnect", logger: silentLogger, url: redis.url });
    const published = closing.publish("early", new Uint8Array([0])).then(() => "published", () => "failed");
    const subscribed = closing.subscribe("early", () => {}).then(() => "subscribed", () => "failed");
    await closing.close();
    expect(await within(published, "the publish to settle")).toBe("failed");
    await within(subscribed, "the subscribe to settle");
  });

  it("closes when its connections drop as it quits", async () => {
    const { subscriber, receivers, proxy } = await start();
    expect(await receivers("kept")).toBe(1);
    proxy.cut();
    await expect(subscriber.close()).resolves.toBeUndefined();
  });

  it("does not subscribe again a channel whose unsubscribe was in flight when the connection dropped", async () => {
    const { subscriber, receivers, proxy } = await start();
    await subscriber.subscribe("left", () => {});
    expect(await receivers("left")).toBe(1);
    // Redis takes the UNSUBSCRIBE, and its answer is lost with the connection.
    proxy.blackHole({ only: "fromServer" });
    void subscriber.unsubscribe("left").catch(() => undefined);
    await waitFor(async () => (await receivers("left")) === 0, "Redis to take the unsubscribe");
    proxy.cut();
    await waitFor(async () => (await receivers("kept")) === 1, "the subscriber to be back with its channels", 20_000);
    expect(await receivers("left")).toBe(0);
  });

  it("does not subscribe again a channel left during the outage whose subscribe was in flight when the connection dropped", async () => {
    const { subscriber, receivers, status, proxy } = await start();
    proxy.blackHole();
    void subscriber.subscribe("left", () => {}).catch(() => undefined);
    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => status() !== "ready", "the subscriber to see its connection gone");
    await subscriber.unsubscribe("left");
    proxy.refuse(false);
    await waitFor(async () => (await receivers("kept")) === 1, "the subscriber to be back with its channels", 20_000);
    expect(await receivers("left")).toBe(0);
  });

  it("subscribes again, while it stays connected, the channels Redis refused when it came back", async () => {
    const { receivers, proxy } = await start();
    const admin = new Redis(redis!.url);
    // Redis refuses SUBSCRIBE (through its ACL) when the subscriber reconnects.
    await admin.call("ACL", "SETUSER", "default", "-subscribe");
    try {
      proxy.cut();
      await waitFor(async () => JSON.stringify(await admin.call("ACL", "LOG")).includes("subscribe"), "Redis to refuse the subscriber's channels");
      expect(await receivers("kept")).toBe(0);
    } finally {
      await admin.call("ACL", "SETUSER", "default", "+subscribe");
      admin.disconnect();
    }
    await waitFor(async () => (await receivers("kept")) === 1, "the channel to be subscribed again", 20_000);
  });

  it("connects its links again when a retry strategy gives them up, saying so once per outage", async () => {
    const log = recordingLogger();
    const { subscriber, receivers, proxy } = await start({ redis: { retryStrategy: () => null }, logger: log });
    // Each attempt while Redis refuses ends the link again.
    let ends = 0;
    (subscriber as unknown as { subscriber: { on(event: "end", listener: () => void): void } }).subscriber.on("end", () => ends++);
    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => ends >= 3, "the subscriber to end three times");
    proxy.refuse(false);
    await waitFor(async () => (await receivers("kept")) === 1, "the subscriber to be back with its channels", 20_000);
    await waitFor(() => subscriber.publish("kept", new Uint8Array([0])).then(() => true, () => false), "the publisher to be back");
    const said = log.lines.filter((line) => line.message === redisLog.endedByClient.message).map((line) => line.fields?.role);
    expect(said.sort()).toEqual(["publisher", "subscriber"]);
  }, 30_000);

  it("makes a silent link again once, however many publishes in flight on it time out", async () => {
    redis = await startOwnRedis();
    const log = recordingLogger();
    const backplane = new RedisBackplane({ channelPrefix: "reconnect", logger: log, url: redis.url, publishTimeout: 300 });
    backplanes.push(backplane);
    await backplane.publish("warm", new Uint8Array([0]));
    // Redis answers nothing for a while: the 50 publishes in flight time out together.
    const admin = new Redis(redis.url);
    await admin.client("PAUSE", 1_000, "ALL");
    admin.disconnect();
    const published = await Promise.allSettled(Array.from({ length: 50 }, () => backplane.publish("stalled", new Uint8Array([1]))));
    expect(published.every((outcome) => outcome.status === "rejected")).toBe(true);
    expect(log.lines.filter((line) => line.message === redisLog.noAnswer.message)).toHaveLength(1);
  });
});
