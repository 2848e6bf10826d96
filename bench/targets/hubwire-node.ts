import { ClusterBackplane } from "../../src/cluster/index.js";
import { HubClass, HubServer, silentLogger, type Backplane, type ScaleOutSettings } from "../../src/index.js";
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
export function startHubwireNode(redisUrl: string | undefined, channelPrefix: string, scaleOut?: ScaleOutSettings): Promise<TargetServer> {
  return startNode(redisUrl ? new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) : undefined, scaleOut);
}

/** One worker of a Node cluster of hubwire nodes (see cluster-primary.ts): the bench hub over a ClusterBackplane. */
export function startHubwireClusterWorker(): Promise<TargetServer> {
  return startNode(new ClusterBackplane({ logger: silentLogger }));
}

async function startNode(backplane: Backplane | undefined, scaleOut?: ScaleOutSettings): Promise<TargetServer> {
  const server = new HubServer({
    logger: silentLogger,
    ...(backplane ? { backplane } : {}),
    ...(scaleOut ? { scaleOut, allowStatefulReconnects: true } : {}),
  });
  return { ...(await serveBenchHub(server, NodeBenchHub)), connectionIds: () => [...held] };
}
