import { randomUUID } from "node:crypto";
import { describe } from "vitest";
import { startInteropServer } from "../../samples/interop-server/app.js";
import type { HubServerOptions } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startRoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { replay } from "../conformance/replay.js";
import type { FixtureServer } from "../interop/fixture.js";
import { redisUrl } from "../support/redis.js";

// Every recorded exchange with ASP.NET Core SignalR (test/conformance), replayed through three
// hubwire servers of the interop fixture on one Redis, behind a proxy that sends each request
// and upgrade to the next server: a connection's requests reach another server than the one
// holding it, and are forwarded (docs/scale-out.md). The answers must be the same as one
// server's, byte for byte where the recordings compare them. Exchanges of one connection only:
// one with two (a and b) orders a send of a's before b's next call, which holds on one server
// but not across two, where the send crosses Redis while b's call does not.

/** Three servers with `options` on one Redis, behind the round-robin proxy; closed servers first, so their clients are told. */
async function startCluster(options: HubServerOptions): Promise<FixtureServer> {
  const channelPrefix = `conformance-cluster-${randomUUID()}`;
  const servers = await Promise.all([0, 1, 2].map(() => startInteropServer(0, { ...options, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: options.logger }) })));
  const proxy = await startRoundRobinProxy(servers.map((server) => server.url));
  return {
    url: proxy.url,
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
      await proxy.close();
    },
  };
}

describe("conformance with ASP.NET Core SignalR, through three hubwire servers behind a round-robin proxy", () => {
  const oneConnection = (recording: string[]) => !recording.some((line) => /^b[ <>]/.test(line));
  replay(["negotiate", "connection-requests", "handshake", "connections", "limits", "timers", "stateful", "messages", "bad-input"], startCluster, oneConnection);
});
