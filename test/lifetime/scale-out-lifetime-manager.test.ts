import { randomUUID } from "node:crypto";
import { encode } from "@msgpack/msgpack";
import type { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubException } from "../../src/errors.js";
import { silentLogger, type LogFields, type Logger } from "../../src/logger.js";
import type { Backplane } from "../../src/lifetime/backplane.js";
import { ScaleOutLifetimeManager, type ScaleOutOptions } from "../../src/lifetime/scale-out-lifetime-manager.js";
import { encodeBackplaneMessage } from "../../src/lifetime/backplane-messages.js";
import type { Target } from "../../src/lifetime/target.js";
import type { HubMessage } from "../../src/protocol/messages.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { messagePackHubProtocol } from "../../src/protocol/messagepack-protocol.js";
import { RedisBackplane } from "../../src/redis/redis-backplane.js";
import { loopbackConnection, type LoopbackConnection } from "../support/loopback-connection.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";
import { runLifetimeManagerContract } from "./lifetime-manager-contract.js";

/** One "server": its own Redis connections and manager, on channels shared by prefix. */
interface Server {
  backplane: RedisBackplane;
  manager: ScaleOutLifetimeManager;
  /** Resolves once everything published before it has reached this server. */
  settle(): Promise<void>;
}

async function startServer(prefix: string, options: Partial<Pick<ScaleOutOptions, "maximumGroupsPerConnection" | "settings" | "logger" | "ackTimeout">> = {}): Promise<Server> {
  const backplane = new RedisBackplane({ url: redisUrl, channelPrefix: prefix, logger: silentLogger });
  const manager = new ScaleOutLifetimeManager({
    hubName: "TestHub",
    backplane,
    protocols: [jsonHubProtocol, messagePackHubProtocol],
    logger: silentLogger,
    clientResultTimeout: 5_000,
    ...options,
  });
  // Redis delivers one publisher's messages in order: a marker that arrived means all before it did.
  const markers = new Map<string, () => void>();
  const markerChannel = `marker:${randomUUID()}`;
  await backplane.subscribe(markerChannel, (payload) => markers.get(Buffer.from(payload).toString())?.());
  const settle = async () => {
    const marker = randomUUID();
    const arrived = new Promise<void>((resolve) => markers.set(marker, resolve));
    await backplane.publish(markerChannel, Buffer.from(marker));
    await arrived;
  };
  return { backplane, manager, settle };
}

let contractServer: Server | undefined;
runLifetimeManagerContract("scale-out over Redis", {
  create: async (options) => {
    contractServer = await startServer(`test-${randomUUID()}`, options);
    return contractServer.manager;
  },
  dispose: async () => {
    await contractServer?.manager.close();
    await contractServer?.backplane.close();
  },
  // Sends to other servers go through Redis; the ones this test cares about come back through it too.
  settle: () => contractServer!.settle(),
});

const ofUser = (userId: string): Target => ({ kind: "users", ids: [userId] });
const ofGroup = (name: string): Target => ({ kind: "groups", names: [name] });

function invocations(client: LoopbackConnection): Array<[string, unknown[]]> {
  return client
    .messages()
    .filter((m): m is Extract<HubMessage, { type: 1 }> => m.type === 1)
    .map((m) => [m.target, m.arguments]);
}

describe("scale-out over Redis: two servers", () => {
  let a: Server;
  let b: Server;
  const settle = async () => {
    await a.settle();
    await b.settle();
  };

  beforeEach(async () => {
    const prefix = `test-${randomUUID()}`;
    [a, b] = await Promise.all([startServer(prefix), startServer(prefix)]);
  });
  afterEach(async () => {
    await Promise.all([a.manager.close(), b.manager.close()]);
    await Promise.all([a.backplane.close(), b.backplane.close()]);
  });

  async function connect(server: Server, options: { userId?: string; messagePack?: boolean } = {}): Promise<LoopbackConnection> {
    const client = loopbackConnection({ userId: options.userId, ...(options.messagePack ? { protocol: messagePackHubProtocol } : {}) });
    await server.manager.onConnected(client.connection);
    return client;
  }

  it("sends to all connections of both servers once, honouring except, in either protocol", async () => {
    const [a1, a2, b1, b2] = [await connect(a), await connect(a), await connect(b), await connect(b, { messagePack: true })];
    await a.manager.send({ kind: "all", except: [a2.connection.connectionId, b1.connection.connectionId] }, "hello", ["world", 1]);
    await settle();
    expect(invocations(a1)).toEqual([["hello", ["world", 1]]]);
    expect(invocations(b2)).toEqual([["hello", ["world", 1]]]);
    expect([invocations(a2).length, invocations(b1).length]).toEqual([0, 0]);
  });

  it("sends to listed connections wherever they live, each once", async () => {
    const [a1, b1, b2] = [await connect(a), await connect(b), await connect(b)];
    const ids = [a1.connection.connectionId, b1.connection.connectionId, b1.connection.connectionId, "nobody"];
    await a.manager.send({ kind: "connections", ids }, "m", []);
    await settle();
    expect([invocations(a1).length, invocations(b1).length, invocations(b2).length]).toEqual([1, 1, 0]);
  });

  it("adds and removes a connection of the other server to and from a group", async () => {
    const [a1, b1] = [await connect(a), await connect(b)];
    await a.manager.addToGroup(b1.connection.connectionId, "ops");
    await a.manager.addToGroup(a1.connection.connectionId, "ops");
    await a.manager.send({ kind: "groups", names: ["ops"] }, "first", []);
    await settle();
    await a.manager.removeFromGroup(b1.connection.connectionId, "ops");
    await b.manager.send({ kind: "groups", names: ["ops"] }, "second", []);
    await settle();
    expect(invocations(a1).map(([t]) => t)).toEqual(["first", "second"]);
    expect(invocations(b1).map(([t]) => t)).toEqual(["first"]);
  });

  it("fails a join of a connection on the other server past that server's maximumGroupsPerConnection", async () => {
    const prefix = `test-${randomUUID()}`;
    const [c, d] = await Promise.all([startServer(prefix), startServer(prefix, { maximumGroupsPerConnection: 1 })]);
    try {
      const d1 = loopbackConnection({});
      await d.manager.onConnected(d1.connection);
      await c.manager.addToGroup(d1.connection.connectionId, "first");
      await expect(c.manager.addToGroup(d1.connection.connectionId, "second")).rejects.toMatchObject({
        name: "HubException",
        code: "ERR_TOO_MANY_GROUPS",
      });
    } finally {
      await Promise.all([c.backplane.close(), d.backplane.close()]);
    }
  });

  it("ignores a group change for a connection no server holds", async () => {
    await expect(a.manager.addToGroup("nobody", "g")).resolves.toBeUndefined();
    await expect(a.manager.removeFromGroup("nobody", "g")).resolves.toBeUndefined();
  });

  it("sends to several groups and users once per connection across servers", async () => {
    const [a1, b1, b2] = [await connect(a, { userId: "alice" }), await connect(b, { userId: "alice" }), await connect(b, { userId: "bob" })];
    for (const group of ["x", "y"]) await b.manager.addToGroup(b1.connection.connectionId, group);
    await a.manager.addToGroup(a1.connection.connectionId, "y");
    await a.manager.send({ kind: "groups", names: ["x", "y"] }, "groups", []);
    await a.manager.send({ kind: "users", ids: ["alice"] }, "alice", []);
    await a.manager.send({ kind: "users", ids: ["alice", "bob"] }, "both", []);
    await settle();
    expect(invocations(a1).map(([t]) => t)).toEqual(["groups", "alice", "both"]);
    expect(invocations(b1).map(([t]) => t)).toEqual(["groups", "alice", "both"]);
    expect(invocations(b2).map(([t]) => t)).toEqual(["both"]);
  });

  it("names a user's and a group's connections on every server, once each, and none that ended", async () => {
    await waitFor(() => a.manager.peers.count === 1 && b.manager.peers.count === 1, "the servers to hear each other");
    const [a1, b1, b2, b3] = [await connect(a, { userId: "alice" }), await connect(b, { userId: "alice" }), await connect(b, { userId: "bob" }), await connect(b, { userId: "alice" })];
    const ids = async (target: Target) => (await a.manager.connectionsOf(target)).sort();
    const idsOf = (...clients: LoopbackConnection[]) => clients.map((client) => client.connection.connectionId).sort();
    expect(await ids(ofUser("alice"))).toEqual(idsOf(a1, b1, b3));
    for (const client of [a1, b2]) await a.manager.addToGroup(client.connection.connectionId, "room");
    expect(await ids(ofGroup("room"))).toEqual(idsOf(a1, b2));
    await b.manager.onDisconnected(b3.connection);
    await b.manager.onDisconnected(b2.connection);
    expect(await ids(ofUser("alice"))).toEqual(idsOf(a1, b1));
    expect(await ids(ofGroup("room"))).toEqual(idsOf(a1));
    expect(await ids(ofUser("carol"))).toEqual([]);
    expect(await ids(ofGroup("nobody's"))).toEqual([]);
  });

  it("names the connections of a server that a server just started has not heard yet", async () => {
    const prefix = `test-${randomUUID()}`;
    const c = await startServer(prefix);
    const alice = loopbackConnection({ userId: "alice" });
    await c.manager.onConnected(alice.connection);
    const d = await startServer(prefix);
    try {
      // c announces itself once a second: d, a moment old, has not heard it yet.
      expect(await d.manager.connectionsOf(ofUser("alice"))).toEqual([alice.connection.connectionId]);
    } finally {
      await Promise.all([c.manager.close(), d.manager.close()]);
      await Promise.all([c.backplane.close(), d.backplane.close()]);
    }
  });

  it("names a connection moving between servers once, also once its old server let go of it", async () => {
    await waitFor(() => a.manager.peers.count === 1 && b.manager.peers.count === 1, "the servers to hear each other");
    const moving = await connect(a, { userId: "alice" });
    const id = moving.connection.connectionId;
    await a.manager.addToGroup(id, "room");
    const plan = a.manager.moves.plan(moving.connection);
    await b.manager.moves.prepare(id, plan);
    const named = async () => [await a.manager.connectionsOf(ofUser("alice")), await a.manager.connectionsOf(ofGroup("room"))];
    expect(await named()).toEqual([[id], [id]]);
    await a.manager.moves.fence(moving.connection, plan);
    a.manager.moves.release(moving.connection, plan);
    expect(await named()).toEqual([[id], [id]]);
    b.manager.moves.abandon(id);
    expect(await named()).toEqual([[], []]);
  });

  it("fails a lookup of a user's connections in time when a live server does not answer, and stops waiting for one that dies", async () => {
    const prefix = `test-${randomUUID()}`;
    const c = await startServer(prefix, { ackTimeout: 2_000, settings: { heartbeatInterval: 50, serverTimeout: 300 } });
    // A server that announces itself and answers nothing (one of a version that does not know the question).
    const silent = new RedisBackplane({ url: redisUrl, channelPrefix: prefix, logger: silentLogger });
    const heartbeat = () => void silent.publish("TestHub:presence", encodeBackplaneMessage({ kind: "alive", origin: "silent", listening: true, sentAt: Date.now() }));
    const heartbeats = setInterval(heartbeat, 50);
    try {
      const c1 = loopbackConnection({ userId: "alice" });
      await c.manager.onConnected(c1.connection);
      await waitFor(() => c.manager.peers.count === 1, "the silent server to be heard");
      await expect(c.manager.connectionsOf(ofUser("alice"))).rejects.toMatchObject({ code: "ERR_BACKPLANE_TIMEOUT" });
      const asked = c.manager.connectionsOf(ofUser("alice"));
      clearInterval(heartbeats);
      await expect(asked).resolves.toEqual([c1.connection.connectionId]);
    } finally {
      clearInterval(heartbeats);
      await c.manager.close();
      await Promise.all([c.backplane.close(), silent.close()]);
    }
  });

  it("stops sending to a connection of the other server once it disconnects", async () => {
    const b1 = await connect(b, { userId: "carol" });
    await a.manager.addToGroup(b1.connection.connectionId, "g");
    await b.manager.onDisconnected(b1.connection);
    await a.manager.send({ kind: "groups", names: ["g"] }, "group", []);
    await a.manager.send({ kind: "users", ids: ["carol"] }, "user", []);
    await a.manager.send({ kind: "connections", ids: [b1.connection.connectionId] }, "connection", []);
    await settle();
    expect(invocations(b1)).toEqual([]);
  });

  describe("client results from the other server", () => {
    async function asked(client: LoopbackConnection): Promise<string> {
      const found = () => client.messages().find((m): m is Extract<HubMessage, { type: 1 }> => m.type === 1)?.invocationId;
      await waitFor(() => found() !== undefined, "the client to be asked");
      return found()!;
    }

    it("resolves with the answer, binary data included", async () => {
      const b1 = await connect(b);
      const result = a.manager.invokeConnection(b1.connection.connectionId, "Result", ["q"]);
      b1.connection.completeClientResult({ type: 3, invocationId: await asked(b1), hasResult: true, result: { n: 1, bytes: new Uint8Array([1, 2]) } });
      await expect(result).resolves.toEqual({ n: 1, bytes: new Uint8Array([1, 2]) });
    });

    it("rejects with the client's error as a HubException", async () => {
      const b1 = await connect(b);
      const result = a.manager.invokeConnection(b1.connection.connectionId, "Result", []);
      b1.connection.completeClientResult({ type: 3, invocationId: await asked(b1), hasResult: false, error: "Error: no" });
      const error = await result.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HubException);
      expect(error).toMatchObject({ message: "Error: no" });
    });

    it("rejects for an unknown connection, a timeout, an abort and a disconnect, with the same codes as in one process", async () => {
      await expect(a.manager.invokeConnection("nobody", "Result", [])).rejects.toMatchObject({ code: "ERR_CONNECTION_NOT_FOUND" });
      const b1 = await connect(b);
      const id = b1.connection.connectionId;
      await expect(a.manager.invokeConnection(id, "Result", [], { timeout: 30 })).rejects.toMatchObject({ code: "ERR_CLIENT_RESULT_TIMEOUT" });
      const controller = new AbortController();
      const aborted = a.manager.invokeConnection(id, "Result", [], { signal: controller.signal });
      controller.abort(new Error("no longer needed"));
      await expect(aborted).rejects.toThrow("no longer needed");
      b1.transport.sent.length = 0;
      const pending = a.manager.invokeConnection(id, "Result", []);
      await asked(b1);
      b1.connection.close();
      await expect(pending).rejects.toMatchObject({ code: "ERR_CONNECTION_CLOSED" });
    });
  });

  it("keeps applications with different channel prefixes apart", async () => {
    const other = await startServer(`test-${randomUUID()}`);
    try {
      const [a1, stranger] = [await connect(a), await connect(other)];
      await a.manager.send({ kind: "all" }, "mine", []);
      await settle();
      await other.settle();
      expect([invocations(a1).length, invocations(stranger).length]).toEqual([1, 0]);
    } finally {
      await other.backplane.close();
    }
  });

  it("drops malformed backplane messages without harm", async () => {
    const a1 = await connect(a);
    const backplane: Backplane = a.backplane;
    await backplane.publish(`TestHub:all`, new Uint8Array([0xc1]));
    await backplane.publish(`TestHub:all`, new Uint8Array([0x93, 1, 2, 3]));
    await backplane.publish(`TestHub:all`, encode({ kind: "send", origin: "x", target: { kind: "all" }, payloads: { json: "not json" } }));
    await backplane.publish(`TestHub:all`, encode({ kind: "send", origin: "x", target: null, payloads: { json: '{"type":1,"target":"m","arguments":[]}\u001e' } }));
    await backplane.publish(`TestHub:server:nobody`, encode({ kind: "result", requestId: 99, result: 1 }));
    await b.manager.send({ kind: "all" }, "after", []);
    await settle();
    expect(invocations(a1)).toEqual([["after", []]]);
  });
});

describe("scale-out over Redis: a subscription lost beneath the backplane", () => {
  it("subscribes again when a server's heartbeats stop coming back, and its outbox delivers what waited", async () => {
    const prefix = `test-${randomUUID()}`;
    const lines: string[] = [];
    const keep = (message: string, _fields?: LogFields) => void lines.push(message);
    const logger: Logger = { level: "info", debug: () => {}, info: keep, warn: keep, error: keep };
    const settings = { heartbeatInterval: 50, serverTimeout: 300 };
    const [a, b] = [await startServer(prefix, { settings, logger }), await startServer(prefix, { settings })];
    try {
      const b1 = loopbackConnection();
      await b.manager.onConnected(b1.connection);
      await a.manager.send({ kind: "all" }, "before", []);
      await waitFor(() => invocations(b1).length === 1, "the first send");
      // Redis drops A's presence subscription while A's backplane believes it made (as ioredis
      // may on a Redis Cluster, when a shard restarts). A stops hearing itself, and holds.
      const subscriber = (a.backplane as unknown as { subscriber: Redis }).subscriber;
      await subscriber.unsubscribe(`${prefix}:TestHub:presence`);
      await waitFor(() => lines.some((line) => line.includes("wait in the outbox")), "A to hold its outbox");
      await a.manager.send({ kind: "all" }, "held", []);
      await waitFor(() => invocations(b1).length === 2, "the held send to reach B", 10_000);
      expect(invocations(b1)).toEqual([["before", []], ["held", []]]);
      expect(lines.some((line) => line.includes("hears none of them"))).toBe(true);
    } finally {
      await Promise.all([a.manager.close(), b.manager.close()]);
      await Promise.all([a.backplane.close(), b.backplane.close()]);
    }
  });
});
