import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { waitFor, within } from "../support/wait.js";

interface ChatClient {
  message(text: string): void;
  answer(question: string): Promise<string>;
}

@HubClass()
class ChatHub extends Hub<ChatClient> {
  @HubMethod("Broadcast")
  broadcast(text: string): Promise<void> {
    return this.clients.all.message(text);
  }

  @HubMethod("AddToGroup")
  addToGroup(connectionId: string, group: string): Promise<void> {
    return this.groups.addToGroup(connectionId, group);
  }

  @HubMethod("SendToGroup")
  sendToGroup(group: string, text: string): Promise<void> {
    return this.clients.group(group).message(text);
  }

  @HubMethod("Ask")
  ask(connectionId: string, question: string): Promise<string> {
    return this.clients.client(connectionId).invoke("answer", question);
  }
}

/** Two hubwire servers sharing a Redis of this test's own, which the test stops and starts. */
describe("scale-out over Redis, end to end with the official client", () => {
  let redis: OwnRedis;
  let servers: HubServer[] = [];
  let clients: HubConnection[] = [];

  beforeAll(async () => {
    redis = await startOwnRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.close()));
    [clients, servers] = [[], []];
    await redis.start().catch(() => undefined); // a test that stopped Redis leaves it running again
  });

  async function startServer(): Promise<string> {
    const server = new HubServer({ logger: silentLogger, backplane: new RedisBackplane({ url: redis.url, logger: silentLogger }) });
    server.mapHub("/chat", ChatHub);
    servers.push(server);
    return (await server.listen()).url;
  }

  /** A client and the messages it receives. */
  async function connect(url: string, messagePack = false): Promise<{ connection: HubConnection; received: string[]; id: string }> {
    const builder = new HubConnectionBuilder()
      .withUrl(`${url}/chat`, { transport: HttpTransportType.WebSockets })
      .configureLogging(LogLevel.None);
    const connection = (messagePack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
    const received: string[] = [];
    connection.on("message", (text: string) => received.push(text));
    connection.on("answer", (question: string) => `answer to ${question}`);
    await connection.start();
    clients.push(connection);
    return { connection, received, id: connection.connectionId! };
  }

  it("delivers to clients of both servers, JSON and MessagePack, groups and client results across them", async () => {
    const [urlA, urlB] = [await startServer(), await startServer()];
    const a = await connect(urlA);
    const b = await connect(urlB, true);

    await a.connection.invoke("Broadcast", "hello");
    await waitFor(() => a.received.length === 1 && b.received.length === 1, "the broadcast on both servers");
    expect([a.received, b.received]).toEqual([["hello"], ["hello"]]);

    await a.connection.invoke("AddToGroup", b.id, "ops");
    await a.connection.invoke("SendToGroup", "ops", "to ops");
    await waitFor(() => b.received.length === 2, "the group send on the other server");
    expect(a.received).toEqual(["hello"]);

    expect(await a.connection.invoke("Ask", b.id, "why")).toBe("answer to why");
    await expect(a.connection.invoke("Ask", "nobody", "why")).rejects.toThrow("An unexpected error occurred invoking 'Ask' on the server.");
  });

  it("keeps serving through a Redis outage and reaches the other server again once Redis is back", async () => {
    const [urlA, urlB] = [await startServer(), await startServer()];
    const a = await connect(urlA);
    const b = await connect(urlB);
    await a.connection.invoke("Broadcast", "before");
    await waitFor(() => b.received.length === 1, "the first broadcast on the other server");

    await redis.stop();
    // Local clients are still served; the call does not fail; what needs the other server fails clearly.
    await a.connection.invoke("Broadcast", "during");
    await waitFor(() => a.received.includes("during"), "the local delivery during the outage");
    await expect(a.connection.invoke("AddToGroup", b.id, "ops")).rejects.toThrow("An unexpected error occurred invoking 'AddToGroup' on the server.");
    const c = await connect(urlA); // new connections are accepted while Redis is away
    expect(c.connection.state).toBe("Connected");

    await redis.start();
    // Each server reconnects on its own schedule: wait until each reaches the other (a
    // broadcast's own server delivers it at once, so each server's says which it came from).
    for (const [from, to, text] of [[a, b, "after, from A"], [b, a, "after, from B"]] as const) {
      await waitFor(
        () => {
          void from.connection.invoke("Broadcast", text).catch(() => undefined);
          return to.received.includes(text);
        },
        "the other server to be reached again",
        15_000,
      );
    }
    // What was sent during the outage waited in server A's outbox: it arrives once, in order.
    expect(b.received.slice(0, 2)).toEqual(["before", "during"]);
    expect(b.received.filter((text) => text === "during")).toHaveLength(1);
    // Subscriptions made during the outage work too: c's own channel reaches it from server B.
    expect(await b.connection.invoke("Ask", c.id, "still there?")).toBe("answer to still there?");
  });

  it("holds a close for another server's connection in the outbox while Redis is away, and closes it once Redis is back", async () => {
    const [, urlB] = [await startServer(), await startServer()];
    const b = await connect(urlB);
    const closed = new Promise<Error | undefined>((resolve) => b.connection.onclose(resolve));
    await redis.stop();
    const hub = servers[0]!.hubContext(ChatHub);
    await hub.clients.client(b.id).message("during");
    await hub.connections.close(b.id, { error: "Closed during the outage." }); // does not wait for Redis
    expect(servers[0]!.scaleOutStats(ChatHub)?.waiting.messages).toBeGreaterThanOrEqual(2);
    await redis.start();
    expect((await within(closed, "the close to arrive once Redis is back", 20_000))?.message).toContain("Closed during the outage.");
    expect(b.received).toEqual(["during"]); // the send before it came first
  });
});
