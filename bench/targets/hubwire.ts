import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubClassType } from "../../src/index.js";
import type { TargetServer } from "./target.js";

export interface BenchClient {
  tick(sentAt: number): void;
}

@HubClass()
export class BenchHub extends Hub<BenchClient> {
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
export function startHubwire(): Promise<TargetServer> {
  return serveBenchHub(new HubServer({ logger: silentLogger }), BenchHub);
}

/** Serves `hubClass` (BenchHub or one that extends it) at /bench on `server`, listening on a free port. */
export async function serveBenchHub(server: HubServer, hubClass: HubClassType<BenchHub>): Promise<TargetServer> {
  const hub = server.mapHub("/bench", hubClass);
  const { port } = await server.listen(0);
  return {
    port,
    connections: () => server.connectionCount,
    broadcast: (sentAt) => void hub.clients.all.tick(sentAt),
    sendToGroup: (group, sentAt) => void hub.clients.group(group).tick(sentAt),
    sendToConnection: (connectionId, sentAt) => void hub.clients.client(connectionId).tick(sentAt),
    close: () => server.close(),
  };
}
