import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterBackplane } from "../../src/cluster/index.js";
import { ScaleOutProcesses } from "../support/scale-out-processes.js";
import { receiversAndSender, Traffic, type StreamClient } from "../support/stream-clients.js";
import { tempFile } from "../support/temp-files.js";
import { waitFor } from "../support/wait.js";

// A Node cluster (test/support/scale-out-node.mjs with BACKPLANE=cluster): a primary that forks
// workers on one port, each a hubwire server over ClusterBackplane, no Redis. The primary hands
// each TCP connection to the next worker, so a client's requests reach workers at random: no
// sticky sessions, as with Redis.

describe("ClusterBackplane: the workers of a Node cluster as one", () => {
  const processes = new ScaleOutProcesses();
  let clients: HubConnection[] = [];
  let streamClients: StreamClient[] = [];
  afterEach(async () => {
    await Promise.all([...clients, ...streamClients].map((client) => client.stop().catch(() => {})));
    [clients, streamClients] = [[], []];
    processes.killAll();
  });

  /**
   * The pids of the workers that take new connections now (each new connection goes to the next),
   * asked by short-lived clients. One the primary handed to a worker as it began to drain is
   * refused: that worker takes no more.
   */
  async function workerPids(url: string, workers: number): Promise<Set<number>> {
    const pids = new Set<number>();
    for (let i = 0; i < 2 * workers; i++) {
      const probe = new HubConnectionBuilder().withUrl(`${url}/chat`, { transport: HttpTransportType.WebSockets, skipNegotiation: true }).configureLogging(LogLevel.None).build();
      try {
        await probe.start();
        pids.add(await probe.invoke<number>("ServerPid"));
      } catch {
        // refused by a draining worker
      } finally {
        await probe.stop();
      }
    }
    return pids;
  }

  /** A client of `user`; `heard` collects what it is sent, as "stream:n". */
  async function connect(url: string, user: string, transport = HttpTransportType.WebSockets, messagePack = false): Promise<{ client: HubConnection; heard: string[]; pid: number }> {
    const builder = new HubConnectionBuilder().withUrl(`${url}/chat`, { transport, accessTokenFactory: () => user }).configureLogging(LogLevel.None);
    const client = (messagePack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
    const heard: string[] = [];
    client.on("message", (stream: string, n: number) => void heard.push(`${stream}:${n}`));
    clients.push(client);
    await client.start();
    return { client, heard, pid: await client.invoke<number>("ServerPid") };
  }

  it("sends to all, a group and a connection reach clients on every worker, over every transport, each once", async () => {
    const { url } = await processes.start("", { clusterWorkers: 2, scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000 } });
    const transports = [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling];
    const all = [];
    for (let i = 0; i < 6; i++) all.push(await connect(url, `user${i}`, transports[i % 3], i === 3));
    // The primary gives each new TCP connection to the next worker.
    expect(new Set(all.map((each) => each.pid)).size).toBe(2);
    for (const { client } of all) await client.invoke("Join", "team");

    const [sender] = all;
    const other = all.find((each) => each.pid !== sender!.pid)!;
    await sender!.client.invoke("ToAll", "all", 1);
    await sender!.client.invoke("ToGroup", "team", "team", 2);
    await sender!.client.invoke("ToConnection", other.client.connectionId, "direct", 3);
    for (const [i, each] of all.entries()) {
      const expected = each === other ? ["all:1", "team:2", "direct:3"] : ["all:1", "team:2"];
      await waitFor(() => each.heard.length >= expected.length, () => `client ${i} to hear ${expected.join(", ")}; heard ${each.heard.join(", ")}`);
      expect(each.heard).toEqual(expected);
    }
  });

  it("a worker that dies takes only its own connections: they connect again through the other, and sends reach them there", async () => {
    const { url } = await processes.start("", { clusterWorkers: 2, scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000 } });
    const ada = await connect(url, "ada");
    let bob = await connect(url, "bob");
    while (bob.pid === ada.pid) bob = await connect(url, "bob"); // the primary gives the next connection to the next worker
    let bobClosed = false;
    bob.client.onclose(() => (bobClosed = true));
    process.kill(bob.pid, "SIGKILL");
    await waitFor(() => bobClosed, "bob's connection to end with its worker");
    const bobAgain = await connect(url, "bob");
    expect(bobAgain.pid).toBe(ada.pid);
    await ada.client.invoke("ToAll", "all", 1);
    await waitFor(() => bobAgain.heard.includes("all:1") && ada.heard.includes("all:1"), "both to hear the send");
    expect([ada.heard, bobAgain.heard]).toEqual([["all:1"], ["all:1"]]);
  });

  it("a rolling restart of the workers, each drained by SIGTERM, moves every stateful connection: nothing lost, doubled or out of order", async () => {
    const { url } = await processes.start("", { clusterWorkers: 2, scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000 } });
    const { receivers, ids, sender, users } = await receiversAndSender(`${url}/chat`, "room", streamClients, "/hubs");
    const traffic = new Traffic(sender, receivers, ids, "room");
    await traffic.flowing("before the restarts");
    const first = await workerPids(url, 2);
    expect(first.size).toBe(2);
    for (const pid of first) {
      const before = await workerPids(url, 2);
      process.kill(pid, "SIGTERM"); // it drains, exits, and the primary forks its replacement
      await waitFor(async () => {
        const now = await workerPids(url, 2);
        return !now.has(pid) && now.size === 2;
      }, `worker ${pid} to be replaced`, 30_000);
      await traffic.flowing(`after worker ${pid} was replaced (of ${[...before].join(", ")})`);
    }
    await traffic.stop();
    expect(traffic.faults().filter((fault) => fault.lost + fault.duplicated + fault.outOfOrder > 0)).toEqual([]);
    expect(receivers.map((client) => [client.name, client.restarts()])).toEqual(receivers.map((client) => [client.name, 0]));
    expect(await Promise.all(receivers.map((client) => client.invoke("Id")))).toEqual(ids);
    expect(await Promise.all(receivers.map((client) => client.invoke("Whoami")))).toEqual(users);
  }, 90_000);

  it("a worker that stops reading is ended once the primary holds maxUnwrittenBytes for it; the others go on", async () => {
    // Far above the few sends the primary may relay to the worker that reads in one turn (a
    // bound below two of them ended both workers on a busy host), far below the 12 MB sent.
    const { url } = await processes.start("", { clusterWorkers: 2, maxUnwrittenBytes: 1024 * 1024, scaleOut: { heartbeatInterval: 100, serverTimeout: 1_000 } });
    const ada = await connect(url, "ada");
    let bob = await connect(url, "bob");
    while (bob.pid === ada.pid) bob = await connect(url, "bob");
    let bobClosed = false;
    bob.client.onclose(() => (bobClosed = true));
    void bob.client.invoke("Stall", 30_000).catch(() => {}); // bob's worker reads nothing for 30 s
    // Sends to all of some 40 KB each (the text in both protocols): bob's worker takes none of them.
    const big = "x".repeat(20_000); // under maximumReceiveMessageSize
    for (let i = 0; i < 300 && !bobClosed; i++) await ada.client.invoke("ToAll", big, i);
    await waitFor(() => bobClosed, "bob's worker to be ended");
    await ada.client.invoke("ToAll", "after", 1);
    await waitFor(() => ada.heard.includes("after:1"), "ada to hear a send after");
  });

  it("a worker sends a turn's requests as one message to a primary that answered its hello, each alone to one that did not", async () => {
    // The primary counts the messages it reads; without setupPrimary() it plays a primary of an
    // older hubwire: it answers and relays as the relay does, but not the hello.
    const script = tempFile("worker-batches.mjs");
    const cluster = new URL("../../dist/src/cluster/index.js", import.meta.url).href;
    writeFileSync(
      script,
      `import cluster from "node:cluster";
import { ClusterBackplane } from ${JSON.stringify(cluster)};
const older = process.env.OLDER_PRIMARY === "1";
if (cluster.isPrimary) {
  if (older) cluster.setupPrimary({ serialization: "advanced" });
  else ClusterBackplane.setupPrimary();
  const read = {};
  const worker = cluster.fork();
  worker.on("message", (message) => {
    read[message.hubwireBackplane] = (read[message.hubwireBackplane] ?? 0) + 1;
    if (!older || message.hubwireBackplane === "hello") return;
    if (message.hubwireBackplane === "publish") worker.send({ hubwireBackplane: "message", channel: message.channel, payload: message.payload });
    worker.send({ hubwireBackplane: "done", id: message.id, receivers: 1 });
  });
  worker.on("exit", () => {
    console.log("primary read " + JSON.stringify(read));
    process.exit(0);
  });
} else {
  const backplane = new ClusterBackplane({ requestTimeout: 10_000 });
  const heard = [];
  await backplane.subscribe("c", (payload) => heard.push(payload[0]));
  const receivers = await Promise.all(Array.from({ length: 100 }, (_, i) => backplane.publish("c", new Uint8Array([i]))));
  while (heard.length < 100) await new Promise((resolve) => setImmediate(resolve));
  console.log("worker heard " + heard.join(",") + " receivers " + new Set(receivers).size);
  process.exit(0);
}
`,
    );
    const run = async (olderPrimary: boolean) => {
      const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000, env: { ...process.env, OLDER_PRIMARY: olderPrimary ? "1" : "0" } });
      return stdout;
    };
    const inOrder = `worker heard ${Array.from({ length: 100 }, (_, i) => i).join(",")} receivers 1`;
    const current = await run(false);
    expect(current).toContain(inOrder);
    // The subscribe went alone, before the welcome came; the hundred publishes of one turn as one batch.
    expect(current).toContain(`primary read {"hello":1,"subscribe":1,"batch":1}`);
    const older = await run(true);
    expect(older).toContain(inOrder);
    expect(older).toContain(`primary read {"hello":1,"subscribe":1,"publish":100}`);
  });

  it("says how to set it up when it is made outside a worker, or in one forked before setupPrimary(), or given a bad bound", async () => {
    expect(() => new ClusterBackplane()).toThrow(expect.objectContaining({ code: "ERR_CLUSTER_ROLE" }));
    expect(() => ClusterBackplane.setupPrimary({ maxUnwrittenBytes: 0 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
    const script = tempFile("late-setup.mjs");
    const cluster = new URL("../../dist/src/cluster/index.js", import.meta.url).href;
    writeFileSync(
      script,
      `import cluster from "node:cluster";
import { ClusterBackplane } from ${JSON.stringify(cluster)};
if (cluster.isPrimary) {
  const worker = cluster.fork(); // before setupPrimary(): its channel speaks JSON
  ClusterBackplane.setupPrimary();
  worker.on("exit", () => process.exit(0));
} else {
  const backplane = new ClusterBackplane();
  await backplane.subscribe("c", () => {});
  await backplane.publish("c", new Uint8Array([1])).catch((error) => console.log(error.code, error.message));
  process.exit(0);
}
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 15_000 });
    expect(stdout).toContain("ERR_CLUSTER_ROLE This worker was forked without the serialization a ClusterBackplane needs");
  });
});
