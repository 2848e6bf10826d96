import { randomUUID } from "node:crypto";
import { afterAll, describe } from "vitest";
import { startInteropServer, type InteropServer } from "../../samples/interop-server/app.js";
import { silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { useFixtureTarget, type FixtureServer } from "../interop/fixture.js";
import { redisUrl } from "../support/redis.js";

// The official-client interop suites, run unchanged against three hubwire servers of the interop
// fixture on one Redis, behind a proxy that sends each request and each upgrade to the next
// server: negotiate, transports, sends, polls, groups, users, client results and streams of one
// connection reach different servers (no sticky sessions, docs/scale-out.md).

interface Cluster {
  servers: InteropServer[];
  proxy: RoundRobinProxy;
}

/** One cluster for the whole file; a test that shuts it down gets a new one after. */
let running: Cluster | undefined;

async function startCluster(): Promise<Cluster> {
  const channelPrefix = `interop-cluster-${randomUUID()}`;
  const servers = await Promise.all(
    [0, 1, 2].map(() => startInteropServer(0, { logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) })),
  );
  return { servers, proxy: await startRoundRobinProxy(servers.map((server) => server.url)) };
}

/** The servers first, so that their clients are told through the proxy, as by one server. */
async function stopCluster(cluster: Cluster): Promise<void> {
  await Promise.all(cluster.servers.map((server) => server.close()));
  await cluster.proxy.close();
}

useFixtureTarget({
  kind: "hubwire",
  async acquire() {
    const cluster = (running ??= await startCluster());
    const fixture: FixtureServer = {
      url: cluster.proxy.url,
      async close() {
        if (running === cluster) running = undefined;
        await stopCluster(cluster);
      },
    };
    return fixture;
  },
  async release() {},
});

describe("the interop suites against three hubwire servers behind a round-robin proxy", async () => {
  afterAll(async () => {
    if (running) await stopCluster(running);
  });
  await import("../interop/test-hub.test.js");
  await import("../interop/interop-hub.test.js");
});
