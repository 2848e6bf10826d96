import { HubClass, HubServer, silentLogger, type ScaleOutSettings } from "../../src/index.js";
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
 * `scaleOut`: the cluster's ScaleOutSettings; given, the hub also allows stateful reconnects.
 */
export async function startHubwireNode(redisUrl: string | undefined, channelPrefix: string, scaleOut?: ScaleOutSettings): Promise<TargetServer> {
  const backplane = redisUrl ? new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) : undefined;
  const server = new HubServer({
    logger: silentLogger,
    ...(backplane ? { backplane } : {}),
    ...(scaleOut ? { scaleOut, allowStatefulReconnects: true } : {}),
  });
  return { ...(await serveBenchHub(server, NodeBenchHub)), connectionIds: () => [...held] };
}
