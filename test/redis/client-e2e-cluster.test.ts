import { randomUUID } from "node:crypto";
import { describe } from "vitest";
import { startInteropServer } from "../../samples/interop-server/app.js";
import { silentLogger, type HubServer } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startRoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { useFixtureServers, type FixtureServers } from "../client/fixture-per-test.js";
import { redisUrl } from "../support/redis.js";

// hubwire's client's end-to-end suite, run unchanged against three servers of the interop fixture
// on one Redis, behind a proxy that sends each request and upgrade to the next server (no sticky
// sessions, docs/scale-out.md).

useFixtureServers(async (): Promise<FixtureServers> => {
  const channelPrefix = `client-e2e-cluster-${randomUUID()}`;
  const servers = await Promise.all(
    [0, 1, 2].map(() => startInteropServer(0, { logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) })),
  );
  const proxy = await startRoundRobinProxy(servers.map((server) => server.url));
  // A hub a test maps is mapped on every server, as every server of a cluster maps the same hubs.
  const hubs = { mapHub: (...args: Parameters<HubServer["mapHub"]>) => servers.map((server) => server.hubs.mapHub(...args))[0] } as unknown as HubServer;
  return {
    url: proxy.url,
    hubs,
    http: servers[0]!.http,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
      await proxy.close();
    },
  };
});

describe("hubwire's client end to end, against three servers behind a round-robin proxy", async () => {
  await import("../client/client-e2e.test.js");
});
