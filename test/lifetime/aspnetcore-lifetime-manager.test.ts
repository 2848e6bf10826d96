import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubException } from "../../src/errors.js";
import { Hub, HubClass, HubMethod, HubServer } from "../../src/index.js";
import type { HubLifetimeManager } from "../../src/lifetime/hub-lifetime-manager.js";
import { silentLogger } from "../../src/logger.js";
import type { HubMessage } from "../../src/protocol/messages.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { messagePackHubProtocol } from "../../src/protocol/messagepack-protocol.js";
import { AspNetCoreRedisBackplane } from "../../src/redis/aspnetcore-redis-backplane.js";
import { loopbackConnection, type LoopbackConnection } from "../support/loopback-connection.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";
import { runLifetimeManagerContract } from "./lifetime-manager-contract.js";

// AspNetCoreLifetimeManager between hubwire servers, over Redis. Against ASP.NET Core itself it
// runs in test/reference/aspnetcore-mixed-cluster.test.ts; its bytes are checked against
// recorded ones in aspnetcore-backplane-messages.test.ts.

/** One "server": its own Redis connections and manager, on the channels of one .NET hub type. */
interface Server {
  backplane: AspNetCoreRedisBackplane;
  manager: HubLifetimeManager;
  /** Resolves once everything published before it has reached this server. */
  settle(): Promise<void>;
}

const hubName = "ChatHub";

async function startServer(prefix: string, options: { maximumGroupsPerConnection?: number; ackTimeout?: number } = {}): Promise<Server> {
  const backplane = new AspNetCoreRedisBackplane({
    url: redisUrl,
    channelPrefix: prefix,
    hubTypeNames: { [hubName]: "MyApp.Hubs.ChatHub" },
    ackTimeout: options.ackTimeout,
    logger: silentLogger,
  });
  const manager = backplane.lifetimeManagerFor({
    hubName,
    backplane,
    protocols: [jsonHubProtocol, messagePackHubProtocol],
    logger: silentLogger,
    clientResultTimeout: 5_000,
    maximumGroupsPerConnection: options.maximumGroupsPerConnection,
  });
  // Redis delivers messages in the order they were published: a marker that arrived means all before it did.
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
runLifetimeManagerContract("ASP.NET Core's Redis backplane format", {
  create: async (options) => {
    contractServer = await startServer(`test-${randomUUID()}-`, { ...options, ackTimeout: 200 });
    return contractServer.manager;
  },
  dispose: () => contractServer?.backplane.close(),
  settle: () => contractServer!.settle(),
  differences: {
    "sends to several groups once per connection, honouring except":
      "the format has one message per group, so a member of two of them receives it twice, as from ASP.NET Core",
    "treats an unknown group as empty and an unknown connection's membership as a no-op":
      "a group change for a connection no server acks fails with ERR_BACKPLANE_TIMEOUT, as ASP.NET Core's is canceled",
    "names every connection of a user and of a group, and none of a disconnected one":
      "ASP.NET Core's messages cannot ask other servers for a user's or a group's connections: the manager has no connectionsOf (ERR_CONNECTION_LOOKUP_NOT_SUPPORTED)",
    "closes the connections of a target, each sent its Close after the sends before it":
      "ASP.NET Core's messages cannot end another server's connections: the manager has no closeConnections (ERR_CLOSE_NOT_SUPPORTED)",
    "encodes a broadcast once per protocol, not once per recipient":
      "it is encoded once per protocol of the hub before publishing, and local clients get the bytes that come back",
  },
});

function invocations(client: LoopbackConnection): Array<[string, unknown[]]> {
  return client
    .messages()
    .filter((m): m is Extract<HubMessage, { type: 1 }> => m.type === 1)
    .map((m) => [m.target, m.arguments]);
}

describe("ASP.NET Core's Redis backplane format: two hubwire servers", () => {
  let a: Server;
  let b: Server;
  const settle = async () => {
    await a.settle();
    await b.settle();
  };

  beforeEach(async () => {
    const prefix = `test-${randomUUID()}-`;
    [a, b] = await Promise.all([startServer(prefix, { ackTimeout: 300 }), startServer(prefix, { ackTimeout: 300 })]);
  });
  afterEach(async () => {
    await Promise.all([a.backplane.close(), b.backplane.close()]);
  });

  async function connect(server: Server, options: { userId?: string; messagePack?: boolean } = {}): Promise<LoopbackConnection> {
    const client = loopbackConnection({ userId: options.userId, ...(options.messagePack ? { protocol: messagePackHubProtocol } : {}) });
    await server.manager.onConnected(client.connection);
    return client;
  }

  it("sends to all, users and listed connections of both servers once each, in either protocol", async () => {
    const [a1, a2, b1, b2] = [
      await connect(a, { userId: "alice" }),
      await connect(a),
      await connect(b, { userId: "alice" }),
      await connect(b, { messagePack: true }),
    ];
    await a.manager.send({ kind: "all", except: [a2.connection.connectionId] }, "all", [{ n: 1, bytes: new Uint8Array([1, 2]) }]);
    await b.manager.send({ kind: "users", ids: ["alice", "alice"] }, "alice", []);
    await a.manager.send({ kind: "connections", ids: [a2.connection.connectionId, b2.connection.connectionId, "nobody"] }, "listed", []);
    await settle();
    expect(invocations(a1).map(([t]) => t)).toEqual(["all", "alice"]);
    expect(invocations(a2).map(([t]) => t)).toEqual(["listed"]);
    expect(invocations(b1).map(([t]) => t)).toEqual(["all", "alice"]);
    expect(invocations(b2)).toEqual([
      ["all", [{ n: 1, bytes: new Uint8Array([1, 2]) }]],
      ["listed", []],
    ]);
  });

  it("adds and removes a connection of the other server to and from a group, once that server acks", async () => {
    const [a1, b1] = [await connect(a), await connect(b)];
    await a.manager.addToGroup(b1.connection.connectionId, "ops");
    await a.manager.addToGroup(a1.connection.connectionId, "ops");
    await a.manager.send({ kind: "groups", names: ["ops"], except: [a1.connection.connectionId] }, "first", []);
    await settle();
    await a.manager.removeFromGroup(b1.connection.connectionId, "ops");
    await b.manager.send({ kind: "groups", names: ["ops"] }, "second", []);
    await settle();
    expect(invocations(a1).map(([t]) => t)).toEqual(["second"]);
    expect(invocations(b1).map(([t]) => t)).toEqual(["first"]);
  });

  it("fails a group change no server acks: an unknown connection, or one past its server's group limit", async () => {
    await expect(a.manager.addToGroup("nobody", "g")).rejects.toMatchObject({ code: "ERR_BACKPLANE_TIMEOUT" });
    const prefix = `test-${randomUUID()}-`;
    const [c, d] = await Promise.all([startServer(prefix, { ackTimeout: 300 }), startServer(prefix, { maximumGroupsPerConnection: 1 })]);
    try {
      const d1 = await connect(d);
      await c.manager.addToGroup(d1.connection.connectionId, "first");
      await expect(c.manager.addToGroup(d1.connection.connectionId, "second")).rejects.toMatchObject({ code: "ERR_BACKPLANE_TIMEOUT" });
    } finally {
      await Promise.all([c.backplane.close(), d.backplane.close()]);
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

    it("resolves with the answer, in the protocol of the answering client", async () => {
      const [b1, b2] = [await connect(b), await connect(b, { messagePack: true })];
      const fromJson = a.manager.invokeConnection(b1.connection.connectionId, "Result", ["q"]);
      b1.connection.completeClientResult({ type: 3, invocationId: await asked(b1), hasResult: true, result: { n: 1 } });
      await expect(fromJson).resolves.toEqual({ n: 1 });
      const fromMessagePack = a.manager.invokeConnection(b2.connection.connectionId, "Result", []);
      b2.connection.completeClientResult({ type: 3, invocationId: await asked(b2), hasResult: true, result: new Uint8Array([3]) });
      await expect(fromMessagePack).resolves.toEqual(new Uint8Array([3]));
    });

    it("rejects with the client's error, or the holding server's, as a HubException", async () => {
      const b1 = await connect(b);
      const result = a.manager.invokeConnection(b1.connection.connectionId, "Result", []);
      b1.connection.completeClientResult({ type: 3, invocationId: await asked(b1), hasResult: false, error: "Error: no" });
      const error = await result.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HubException);
      expect(error).toMatchObject({ message: "Error: no" });
      b1.transport.sent.length = 0;
      const pending = a.manager.invokeConnection(b1.connection.connectionId, "Result", []);
      await asked(b1);
      b1.connection.close();
      await expect(pending).rejects.toMatchObject({ name: "HubException", message: expect.stringContaining(b1.connection.connectionId) });
    });

    it("rejects for an unknown connection, a timeout and an abort, with the same codes as in one process", async () => {
      await expect(a.manager.invokeConnection("nobody", "Result", [])).rejects.toMatchObject({ code: "ERR_CONNECTION_NOT_FOUND" });
      const b1 = await connect(b);
      const id = b1.connection.connectionId;
      await expect(a.manager.invokeConnection(id, "Result", [], { timeout: 30 })).rejects.toMatchObject({ code: "ERR_CLIENT_RESULT_TIMEOUT" });
      const controller = new AbortController();
      const aborted = a.manager.invokeConnection(id, "Result", [], { signal: controller.signal });
      controller.abort(new Error("no longer needed"));
      await expect(aborted).rejects.toThrow("no longer needed");
    });
  });
});

@HubClass()
class UnmappedHub extends Hub {
  @HubMethod("Ping")
  ping(): string {
    return "pong";
  }
}

it("refuses to map a hub that has no .NET hub type, when the hub is mapped", async () => {
  const backplane = new AspNetCoreRedisBackplane({ url: redisUrl, hubTypeNames: { ChatHub: "MyApp.Hubs.ChatHub" }, logger: silentLogger });
  const server = new HubServer({ logger: silentLogger, backplane });
  try {
    expect(() => server.mapHub("/unmapped", UnmappedHub)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION", message: expect.stringContaining("'UnmappedHub'") }),
    );
  } finally {
    await server.close();
  }
});
