import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";

// Clients gather the hub messages of a burst into one transport message: the official
// JavaScript client every message sent in one turn, the .NET client what its pipe holds (over
// WebSockets in fragments of its segments), as one WebSocket message or one POST. ASP.NET Core
// reads such a message as a stream; so does hubwire, in pieces of whole hub messages, however
// large (whole, a message is taken up to max(4 x maximumReceiveMessageSize, 1 MiB) bytes).

const MiB = 1024 * 1024;

@HubClass()
class BurstHub extends Hub {
  /** Characters received, by connection id. */
  static counts = new Map<string, number>();

  @HubMethod("Add")
  add(text: string): void {
    BurstHub.counts.set(this.context.connectionId, (BurstHub.counts.get(this.context.connectionId) ?? 0) + text.length);
  }

  @HubMethod("Count")
  count(): number {
    return BurstHub.counts.get(this.context.connectionId) ?? 0;
  }

}

describe("a burst of hub messages in one transport message larger than is taken whole", () => {
  let server: HubServer;
  let url: string;
  const clients: HubConnection[] = [];

  beforeAll(async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/burst", BurstHub);
    url = `${(await server.listen()).url}/burst`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await server.close();
  });

  async function official(messagePack: boolean, transport = HttpTransportType.WebSockets): Promise<HubConnection> {
    const builder = new HubConnectionBuilder().withUrl(url, { transport, skipNegotiation: transport === HttpTransportType.WebSockets }).configureLogging(LogLevel.None);
    if (messagePack) builder.withHubProtocol(new MessagePackHubProtocol());
    const client = builder.build();
    clients.push(client);
    await client.start();
    return client;
  }

  it.each([
    ["WebSockets", HttpTransportType.WebSockets, false],
    ["WebSockets", HttpTransportType.WebSockets, true],
    ["long polling", HttpTransportType.LongPolling, false],
    ["long polling", HttpTransportType.LongPolling, true],
    ["Server-Sent Events", HttpTransportType.ServerSentEvents, false],
  ])("the official client's sends of one turn, 3 MiB in all, are each handled: %s, MessagePack %s", async (_name, transport, messagePack) => {
    const client = await official(messagePack, transport);
    let closed = false;
    client.onclose(() => (closed = true));
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 3072; i++) sends.push(client.send("Add", "x".repeat(1024)));
    await Promise.all(sends);
    expect(await client.invoke("Count")).toBe(3 * MiB);
    expect(closed).toBe(false);
  });

  it("a fragmented WebSocket message of 2 MiB in 4 KiB fragments, as the .NET client sends its pipe, hub messages across fragments", async () => {
    const client = await RawJsonClient.open(url);
    const records = Array.from({ length: 2048 }, () => `{"type":1,"target":"Add","arguments":["${"z".repeat(1000)}"]}${RS}`).join("");
    for (let at = 0; at < records.length; at += 4096) client.socket.send(records.slice(at, at + 4096), { fin: at + 4096 >= records.length });
    client.send(`{"type":1,"invocationId":"1","target":"Count","arguments":[]}${RS}`);
    await client.waitFor(() => client.messages().some((m) => m.invocationId === "1"), "the count");
    expect(client.messages().find((m) => m.invocationId === "1")).toEqual({ type: 3, invocationId: "1", result: 2048 * 1000 });
    client.socket.close();
  });

  it("still ends the connection for one hub message over maximumReceiveMessageSize in such a message, after those before it", async () => {
    BurstHub.counts.clear();
    const client = await RawJsonClient.open(url);
    const before = `{"type":1,"target":"Add","arguments":["${"z".repeat(1000)}"]}${RS}`.repeat(1200); // 1.2 MB
    client.send(`${before}{"type":1,"target":"Add","arguments":["${"z".repeat(40_000)}"]}${RS}`);
    const { code } = await client.closed;
    expect(code).toBe(1000);
    expect(client.messages().at(-1)).toEqual({ type: 7, error: "Connection closed with an error." });
    // Those before it were read and handled (the calls still queued when the connection ended are not run).
    expect([...BurstHub.counts.values()]).toEqual([expect.any(Number)]);
    expect(BurstHub.counts.values().next().value).toBeGreaterThan(0);
  });
});
