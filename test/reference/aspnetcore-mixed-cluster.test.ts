import { HubConnectionBuilder, HttpTransportType, JsonHubProtocol, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInteropServer, type InteropServer } from "../../samples/interop-server/app.js";
import { InteropHub } from "../../samples/interop-server/interop-hub.js";
import { silentLogger } from "../../src/index.js";
import { AspNetCoreRedisBackplane } from "../../src/redis/index.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { waitFor } from "../support/wait.js";
import { buildProject, dotnetMissingFor, projects, startReferenceServer, type ReferenceServer } from "./dotnet.mjs";

// A mixed cluster: the ASP.NET Core reference server on its Redis backplane (AddStackExchangeRedis)
// and a hubwire server of the same fixture on AspNetCoreRedisBackplane, on one Redis. Official
// clients on both servers, on both protocols, check that every send reaches each of its recipients
// exactly once, whichever server it starts on and whichever server holds the recipient.

const missing = dotnetMissingFor("the mixed cluster test");

const channelPrefix = "mixed-cluster";
const hubTypeNames = {
  InteropHub: "Hubwire.Reference.InteropHub",
  TestHub: "Hubwire.Reference.TestHub",
  AuthorizedHub: "Hubwire.Reference.AuthorizedHub",
  UncreatableHub: "Hubwire.Reference.UncreatableHub",
};

/** The clients: two on each server, one per protocol; alice has a connection on each server. */
const layout = {
  dotnetJson: { server: "dotnet", protocol: "json", user: "alice", result: 7 },
  dotnetMsgpack: { server: "dotnet", protocol: "messagepack", user: "bob", result: 8 },
  hubwireJson: { server: "hubwire", protocol: "json", user: "alice", result: 42 },
  hubwireMsgpack: { server: "hubwire", protocol: "messagepack", user: "carol", result: 43 },
} as const;
type Name = keyof typeof layout;
const names = Object.keys(layout) as Name[];

describe.skipIf(missing)(`a mixed cluster of ASP.NET Core SignalR and hubwire on one Redis${missing ? ` (skipped: ${missing})` : ""}`, () => {
  let redis: OwnRedis;
  let dotnet: ReferenceServer;
  let hubwire: InteropServer;
  const clients = {} as Record<Name, HubConnection>;
  /** What each client received, as `route|message`. */
  const received = Object.fromEntries(names.map((name) => [name, [] as string[]])) as Record<Name, string[]>;
  /** What each client must have received, once each, by the end. */
  const expected = Object.fromEntries(names.map((name) => [name, [] as string[]])) as Record<Name, string[]>;

  const id = (name: Name) => clients[name].connectionId!;

  /**
   * Has `from` invoke a hub method that sends `Received(route, message)`, and waits until each of
   * `to` has it.
   */
  async function send(from: Name, to: readonly Name[], route: string, message: unknown, method: string, ...args: unknown[]) {
    const entry = `${route}|${JSON.stringify(message)}`;
    await clients[from].invoke(method, ...args);
    for (const name of to) expected[name].push(entry);
    await waitFor(
      () => to.every((name) => received[name].includes(entry)),
      () => `${entry} from ${from} to reach ${to.join(", ")}; got ${JSON.stringify(received)}`,
    );
  }

  async function dotnetGet(path: string): Promise<string> {
    const response = await fetch(`${dotnet.url}${path}`);
    return response.text();
  }

  beforeAll(async () => {
    await buildProject(projects.aspnetcore);
    redis = await startOwnRedis();
    dotnet = await startReferenceServer({ env: { REFERENCE_REDIS_URL: redis.url, REFERENCE_REDIS_CHANNEL_PREFIX: channelPrefix } });
    hubwire = await startInteropServer(0, {
      logger: silentLogger,
      backplane: new AspNetCoreRedisBackplane({ url: redis.url, channelPrefix, hubTypeNames, logger: silentLogger }),
    });
    for (const name of names) {
      const { server, protocol, user, result } = layout[name];
      const base = server === "dotnet" ? dotnet.url : hubwire.url;
      const client = new HubConnectionBuilder()
        .withUrl(`${base}/interophub?user=${user}`, { transport: HttpTransportType.WebSockets })
        .withHubProtocol(protocol === "json" ? new JsonHubProtocol() : new MessagePackHubProtocol())
        .configureLogging(LogLevel.None)
        .build();
      client.on("Received", (route: string, message: unknown) => received[name].push(`${route}|${JSON.stringify(message)}`));
      client.on("Result", () => result);
      await client.start();
      clients[name] = client;
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all(Object.values(clients).map((client) => client.stop()));
    await hubwire?.close();
    await dotnet?.stop();
    await redis?.stop();
  });

  /**
   * Where each send starts: a hubwire node and an ASP.NET Core one, from MessagePack clients
   * (ASP.NET Core hands a JSON client's `object` argument on as a JsonElement, which its own
   * MessagePack protocol then writes as `{}`).
   */
  const origins = ["hubwireMsgpack", "dotnetMsgpack"] as const;
  const on = (from: Name) => layout[from].server;

  it("sends to all, to others and to all but some", async () => {
    for (const from of origins) {
      const object = { from: on(from), list: [1, 2, 3], nested: { ok: true } };
      await send(from, names, "all", object, "SendToAll", object);
      await send(from, names.filter((name) => name !== from), "others", `others from ${on(from)}`, "SendToOthers", `others from ${on(from)}`);
      const message = `all but the JSON clients from ${on(from)}`;
      await send(from, ["dotnetMsgpack", "hubwireMsgpack"], "allExcept", message, "SendToAllExcept", message, [id("dotnetJson"), id("hubwireJson")]);
    }
  });

  it("sends to a group whose members are on both servers, and to it but some", async () => {
    await clients.dotnetJson.invoke("AddToGroup", "both");
    await clients.hubwireJson.invoke("AddToGroup", "both");
    for (const from of origins) {
      const message = `to both from ${on(from)}`;
      await send(from, ["dotnetJson", "hubwireJson"], "group", message, "SendToGroup", "both", message);
      const except = `to both but hubwire's from ${on(from)}`;
      await send(from, ["dotnetJson"], "groupExcept", except, "SendToGroupExcept", "both", except, [id("hubwireJson")]);
    }
  });

  it("sends to a user with a connection on each server, and to one with a connection on one", async () => {
    for (const from of origins) {
      await send(from, ["dotnetJson", "hubwireJson"], "user", `to alice from ${on(from)}`, "SendToUser", "alice", `to alice from ${on(from)}`);
      await send(from, ["hubwireMsgpack"], "user", `to carol from ${on(from)}`, "SendToUser", "carol", `to carol from ${on(from)}`);
      await send(from, ["dotnetMsgpack"], "user", `to bob from ${on(from)}`, "SendToUser", "bob", `to bob from ${on(from)}`);
    }
  });

  it("sends to single connections held by the other server", async () => {
    await send("hubwireMsgpack", ["dotnetJson"], "connection", "hubwire to .NET", "SendToConnection", id("dotnetJson"), "hubwire to .NET");
    await send("dotnetMsgpack", ["hubwireJson"], "connection", ".NET to hubwire", "SendToConnection", id("hubwireJson"), ".NET to hubwire");
    for (const from of origins) {
      const message = `to two from ${on(from)}`;
      await send(from, ["dotnetJson", "hubwireJson"], "connections", message, "SendToConnections", [id("dotnetJson"), id("hubwireJson")], message);
    }
  });

  it("adds to and removes from groups connections held by the other server", async () => {
    const { groups } = hubwire.hubs.hubContext(InteropHub);
    await clients.dotnetJson.invoke("AddToGroup", "crossed");
    // hubwire adds a connection ASP.NET Core holds; ASP.NET Core adds one hubwire holds.
    await groups.addToGroup(id("dotnetMsgpack"), "crossed");
    expect(await dotnetGet(`/interophub/groups/add/${id("hubwireMsgpack")}/crossed`)).toBe("done");
    for (const from of origins) {
      const message = `crossed from ${on(from)}`;
      await send(from, ["dotnetJson", "dotnetMsgpack", "hubwireMsgpack"], "group", message, "SendToGroup", "crossed", message);
    }
    await groups.removeFromGroup(id("dotnetMsgpack"), "crossed");
    expect(await dotnetGet(`/interophub/groups/remove/${id("hubwireMsgpack")}/crossed`)).toBe("done");
    for (const from of origins) {
      const message = `crossed after the removals from ${on(from)}`;
      await send(from, ["dotnetJson"], "group", message, "SendToGroup", "crossed", message);
    }
  });

  it("asks client results of connections held by the other server", async () => {
    const context = hubwire.hubs.hubContext(InteropHub);
    expect(await context.clients.client(id("dotnetJson")).invoke("Result")).toBe(7);
    expect(await context.clients.client(id("dotnetMsgpack")).invoke("Result")).toBe(8);
    expect(await dotnetGet(`/interophub/clientresult/${id("hubwireJson")}`)).toBe("42");
    expect(await dotnetGet(`/interophub/clientresult/${id("hubwireMsgpack")}`)).toBe("43");
    await expect(context.clients.client("no-such-connection").invoke("Result")).rejects.toMatchObject({ code: "ERR_CONNECTION_NOT_FOUND" });
  });

  it("delivered every message to each of its recipients exactly once", async () => {
    // A last send to all from each server: once every client has both, earlier duplicates are in.
    for (const from of origins) await send(from, names, "all", `last from ${on(from)}`, "SendToAll", `last from ${on(from)}`);
    for (const name of names) expect([...received[name]].sort(), name).toEqual([...expected[name]].sort());
  });
});
