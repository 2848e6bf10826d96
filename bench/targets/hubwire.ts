import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubClassType } from "../../src/index.js";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
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

/**
 * hubwire with defaults, every transport and both protocols: what a user gets out of the box.
 * HUBWIRE_BENCH_DASHBOARD=1 mounts the dashboard too, with one viewer in a process of its own
 * taking its updates (what watching a server costs it); `=mounted` mounts it with no viewer.
 * HUBWIRE_BENCH_DASHBOARD_INTERVAL sets its update interval in ms (default 1 000).
 */
export async function startHubwire(): Promise<TargetServer> {
  const server = new HubServer({ logger: silentLogger });
  const dashboard = process.env.HUBWIRE_BENCH_DASHBOARD;
  if (!dashboard) return serveBenchHub(server, BenchHub);
  const interval = Number(process.env.HUBWIRE_BENCH_DASHBOARD_INTERVAL ?? 1000);
  server.mapDashboard("/hubwire", { authenticate: (_request, token) => token ?? null, authorize: () => true, interval });
  const target = await serveBenchHub(server, BenchHub);
  if (dashboard === "mounted") return target;
  const viewer = fork(fileURLToPath(new URL("../dashboard-viewer.js", import.meta.url)), [`http://127.0.0.1:${target.port}/hubwire/hub`]);
  await new Promise<void>((resolve, reject) => {
    viewer.once("message", () => resolve());
    viewer.once("exit", (code) => reject(new Error(`the dashboard viewer exited (${code}) before its first update`)));
  });
  return {
    ...target,
    close: async () => {
      viewer.disconnect();
      await target.close();
    },
  };
}

/** Serves `hubClass` (BenchHub or one that extends it) at /bench on `server`, listening on a free port. */
export async function serveBenchHub(server: HubServer, hubClass: HubClassType<BenchHub>): Promise<TargetServer> {
  const hub = server.mapHub("/bench", hubClass);
  server.mapMultiplexer("/hubs"); // the hubwire-mux-* targets' connections
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
