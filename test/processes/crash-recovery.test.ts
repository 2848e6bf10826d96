import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { startRoundRobinProxy, type RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { ScaleOutProcesses } from "../support/scale-out-processes.js";
import { hubwireClient, receiversAndSender, Traffic, trafficStreams, type StreamClient } from "../support/stream-clients.js";
import { waitFor } from "../support/wait.js";

/** Presence as tests shorten it, and crash recovery on. */
const scaleOut = { heartbeatInterval: 100, serverTimeout: 1_000, recovery: true };

/** Three hubwire servers, each a process of its own, behind a round-robin proxy; one is killed with SIGKILL under traffic. */
describe("a server process killed under traffic, with crash recovery on", () => {
  const servers = new ScaleOutProcesses();
  let proxy: RoundRobinProxy | undefined;
  let clients: StreamClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop().catch(() => {})));
    clients = [];
    await proxy?.close();
    servers.killAll();
  });

  it("its stateful clients come back on the others with their id, user and groups, and get what was sent meanwhile", async () => {
    // A channel prefix of this test's own: other tests and runs may share the Redis.
    const channelPrefix = `crash-${randomUUID()}`;
    const nodes = await Promise.all([0, 1, 2].map(() => servers.start(channelPrefix, { scaleOut })));
    proxy = await startRoundRobinProxy(nodes.map((node) => node.url));
    const url = `${proxy.url}/chat`;
    const { receivers, ids, sender, users } = await receiversAndSender(url, "room", clients, "/hubs");
    const traffic = new Traffic(sender, receivers, ids, "room");
    await traffic.flowing("before the crash");
    // Every connection's standby can take it over: a checkpoint made after it listened has come.
    const probes = await Promise.all(nodes.map((node) => hubwireClient(`${node.url}/chat`, "probe", false)));
    clients.push(...probes);
    const recoverable = async () => (await Promise.all(probes.map((probe) => probe.invoke<number>("Recoverable")))).reduce((a, b) => a + b, 0);
    // Every client here asks for stateful reconnect: the sender's and the probes' connections count too.
    const stateful = receivers.length + 1 + probes.length;
    await waitFor(async () => (await recoverable()) >= stateful, "every connection to be recoverable by its standby");
    await Promise.all(probes.map((probe) => probe.stop()));
    await traffic.flowing("before the crash, still");
    // Of the servers that hold a multiplexed receiver, the one that holds the most receivers dies.
    const pids = await Promise.all(receivers.map((client) => client.invoke<number>("ServerPid")));
    const weight = (pid: number | undefined) =>
      receivers.reduce((sum, client, i) => sum + (pids[i] !== pid ? 0 : client.name.includes("multiplexed") ? 100 : 1), 0);
    const victim = nodes.map((node) => node.child).sort((a, b) => weight(b.pid) - weight(a.pid))[0]!;
    const held = receivers.filter((_, i) => pids[i] === victim.pid);
    const child = victim;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
    // Noticing the death and the clients' reattach take seconds; on a loaded machine, more.
    await traffic.flowing("after the crash", 30_000);
    await traffic.stop();

    const faults = traffic.faults();
    const received = receivers.reduce((sum, client) => sum + trafficStreams.reduce((n, stream) => n + (client.received.streams.get(stream)?.length ?? 0), 0), 0);
    const total = (key: "lost" | "duplicated" | "outOfOrder") => faults.reduce((sum, fault) => sum + fault[key], 0);
    // The figures docs/scale-out.md quotes.
    console.log(
      `kill -9 of 1 of 3 server processes, recovery on: ${receivers.length + 1} clients (${held.length} receivers on the killed one), ${received} messages received, ` +
        `${total("lost")} lost, ${total("duplicated")} duplicated, ${total("outOfOrder")} out of order, ` +
        `${[...receivers, sender].reduce((sum, client) => sum + client.restarts(), 0)} new connections; ` +
        JSON.stringify(faults.filter((fault) => fault.lost + fault.duplicated + fault.outOfOrder > 0)),
    );
    expect([...receivers, sender].map((client) => [client.name, client.restarts()])).toEqual([...receivers, sender].map((client) => [client.name, 0]));
    expect(await Promise.all(receivers.map((client) => client.invoke("Id")))).toEqual(ids);
    expect(await Promise.all(receivers.map((client) => client.invoke("Whoami")))).toEqual(users);
    // Those it held run on the others now, with their ids and groups (the group stream went on).
    expect(held.filter((client) => client.name.includes("multiplexed")).length).toBeGreaterThan(0);
    for (const client of held) expect(await client.invoke("ServerPid")).not.toBe(victim.pid);
    expect(faults.filter((fault) => fault.lost > 0)).toEqual([]);
  });
});
