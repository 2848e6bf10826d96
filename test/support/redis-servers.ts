import { randomUUID } from "node:crypto";
import { HubServer, silentLogger, type HubServerOptions } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "./redis.js";

/**
 * `count` servers on the shared Redis under a channel prefix of their own (other tests and runs
 * may share that Redis), each with its hubs mapped by `map`, listening on loopback.
 */
export async function serversOnRedis(count: number, map: (server: HubServer) => void, options: HubServerOptions = {}): Promise<{ servers: HubServer[]; urls: string[] }> {
  const channelPrefix = `test-${randomUUID()}`;
  const servers = Array.from({ length: count }, () => {
    const server = new HubServer({ logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }), ...options });
    map(server);
    return server;
  });
  const urls = await Promise.all(servers.map(async (server) => (await server.listen()).url));
  return { servers, urls };
}
