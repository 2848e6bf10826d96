import { HubClass, HubServer, silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { BenchHub, serveBenchHub } from "./hubwire.js";
import type { TargetServer } from "./target.js";

/** The connections this process holds, so that the runner can pick recipients on other nodes. */
const held = new Set<string>();

@HubClass({ name: "BenchHub" })
class NodeBenchHub extends BenchHub {
  override onConnected(): void {
    held.add(this.context.connectionId);
  }

  override onDisconnected(): void {
    held.delete(this.context.connectionId);
  }
}

/**
 * One node of a hubwire cluster: the bench hub over a RedisBackplane on `redisUrl` with
 * `channelPrefix` (a cluster's nodes share it), or a lone server without one when no URL is given.
 */
export async function startHubwireNode(redisUrl: string | undefined, channelPrefix: string): Promise<TargetServer> {
  const backplane = redisUrl ? new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) : undefined;
  const server = new HubServer({ logger: silentLogger, ...(backplane ? { backplane } : {}) });
  return { ...(await serveBenchHub(server, NodeBenchHub)), connectionIds: () => [...held] };
}
