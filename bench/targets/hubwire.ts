import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import type { TargetServer } from "./target.js";

interface BenchClient {
  tick(sentAt: number): void;
}

@HubClass()
class BenchHub extends Hub<BenchClient> {
  @HubMethod("Echo")
  echo(payload: unknown): unknown {
    return payload;
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }
}

/** hubwire with defaults, every transport and both protocols: what a user gets out of the box. */
export async function startHubwire(): Promise<TargetServer> {
  const server = new HubServer({ logger: silentLogger });
  const hub = server.mapHub("/bench", BenchHub);
  const { port } = await server.listen(0);
  return {
    port,
    connections: () => server.connectionCount,
    broadcast: (sentAt) => void hub.clients.all.tick(sentAt),
    sendToGroup: (group, sentAt) => void hub.clients.group(group).tick(sentAt),
    close: () => server.close(),
  };
}
