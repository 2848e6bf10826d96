import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { ScaleOutProcesses } from "../support/scale-out-processes.js";
import { receiversAndSender, Traffic, trafficStreams, type StreamClient } from "../support/stream-clients.js";
import { within } from "../support/wait.js";

/** Three hubwire servers, each a process of its own, behind a round-robin proxy; a deploy restarts each in turn with SIGTERM. */
describe("a rolling restart of three server processes", () => {
  const servers = new ScaleOutProcesses();
  let proxy: RoundRobinProxy | undefined;
  let clients: StreamClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop().catch(() => {})));
    clients = [];
    await proxy?.close();
    servers.killAll();
  });

  it("moves every stateful connection on SIGTERM: nothing lost, doubled or out of order, per client", async () => {
    // A channel prefix of this test's own: other tests and runs may share the Redis.
    const channelPrefix = `rolling-${randomUUID()}`;
    const nodes = await Promise.all([0, 1, 2].map(() => servers.start(channelPrefix)));
    proxy = await startRoundRobinProxy(nodes.map((node) => node.url));
    const url = `${proxy.url}/chat`;
    const { receivers, ids, sender, users } = await receiversAndSender(url, "room", clients, "/hubs");
    const traffic = new Traffic(sender, receivers, ids, "room");
    await traffic.flowing("before the restarts");
    for (let i = 0; i < nodes.length; i++) {
      const { child, url: nodeUrl } = nodes[i]!;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = (await within(exited, `server ${i} to drain and exit`, 30_000)) as [number | null];
      expect(code).toBe(0);
      nodes[i] = await servers.start(channelPrefix, { port: Number(new URL(nodeUrl).port) });
      await traffic.flowing(`after server ${i} restarted`);
    }
    await traffic.stop();

    const faults = traffic.faults();
    const received = receivers.reduce((sum, client) => sum + trafficStreams.reduce((n, stream) => n + (client.received.streams.get(stream)?.length ?? 0), 0), 0);
    const total = (key: "lost" | "duplicated" | "outOfOrder") => faults.reduce((sum, fault) => sum + fault[key], 0);
    // The figures docs/scale-out.md quotes.
    console.log(
      `rolling restart of 3 server processes: ${receivers.length} clients, ${received} messages received, ` +
        `${total("lost")} lost, ${total("duplicated")} duplicated, ${total("outOfOrder")} out of order, ` +
        `${receivers.reduce((sum, client) => sum + client.restarts(), 0)} new connections`,
    );
    expect(faults.filter((fault) => fault.lost + fault.duplicated + fault.outOfOrder > 0)).toEqual([]);
    expect(receivers.map((client) => [client.name, client.restarts()])).toEqual(receivers.map((client) => [client.name, 0]));
    expect(await Promise.all(receivers.map((client) => client.invoke("Id")))).toEqual(ids);
    expect(await Promise.all(receivers.map((client) => client.invoke("Whoami")))).toEqual(users);
  });
});
