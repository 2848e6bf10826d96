import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { ScaleOutLifetimeManager } from "../../src/lifetime/scale-out-lifetime-manager.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { RedisBackplane } from "../../src/redis/redis-backplane.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";

/** Group changes for a connection on another server, whose publish Redis is slow to answer. */
describe("requests to another server while Redis is slow to answer", () => {
  let redis: OwnRedis | undefined;
  let proxy: TcpProxy | undefined;
  let backplane: RedisBackplane | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  afterEach(async () => {
    process.off("unhandledRejection", onUnhandled);
    await proxy?.close(); // first: a QUIT into the black hole would wait out publishTimeout
    await backplane?.close();
    await redis?.stop();
    [backplane, proxy, redis] = [undefined, undefined, undefined];
  });

  it("fails a group change whose ack times out before Redis answers its publish, without an unhandled rejection", async () => {
    process.on("unhandledRejection", onUnhandled);
    redis = await startOwnRedis();
    proxy = await startTcpProxy(Number(new URL(redis.url).port));
    // Redis answers a publish within publishTimeout; the ack may be awaited for less.
    backplane = new RedisBackplane({ url: proxy.url.replace("http:", "redis:"), logger: silentLogger, publishTimeout: 10_000 });
    const manager = new ScaleOutLifetimeManager({
      hubName: "TestHub",
      backplane,
      protocols: [jsonHubProtocol],
      logger: silentLogger,
      clientResultTimeout: 5_000,
      ackTimeout: 200,
      settings: { heartbeatInterval: 5_000, serverTimeout: 20_000 },
    });
    await waitFor(() => manager.peers.connected, "the server to hear itself");
    // Redis takes what is published, and its answers are lost.
    proxy.blackHole({ only: "fromServer" });
    const asked = Date.now();
    const change = manager.addToGroup("elsewhere", "g").then(
      () => "joined",
      (error: { code?: string }) => error.code,
    );
    expect(await change).toBe("ERR_BACKPLANE_TIMEOUT");
    // Within the ack's timeout (on a loaded machine, give or take), not the publish's.
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(unhandled).toEqual([]);
    await manager.close();
  });
});
