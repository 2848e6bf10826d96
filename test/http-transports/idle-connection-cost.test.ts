import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubRequest } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { waitFor } from "../support/wait.js";

// What an idle WebSocket connection holds beyond ws's own is what bounds memory per connection
// (docs/benchmarks.md): hubwire listens where ws does ("data" on the upgraded socket, "error" on
// ws's receiver) joined to ws's one listener, since a second one turns it into an array of two.

@HubClass()
class EchoHub extends Hub {
  @HubMethod("Echo")
  echo(value: string): string {
    return value;
  }
}

/** What a hub saw of its request: in onConnected, in a call, and in onDisconnected (after the socket closed). */
const seen: Array<{ when: string; url: string; path: string; host: string | undefined; agent: string | undefined; address: string | undefined; query: string | null }> = [];
const look = (when: string, request: HubRequest) =>
  seen.push({ when, url: request.url, path: request.path, host: request.headers.host as string | undefined, agent: request.header("User-Agent"), address: request.remoteAddress, query: request.query.get("q") });

@HubClass()
class RequestHub extends Hub {
  override onConnected(): void {
    look("connected", this.context.request);
  }

  override onDisconnected(): void {
    look("disconnected", this.context.request);
  }

  @HubMethod("Look")
  look(): void {
    look("call", this.context.request);
  }
}

describe("an idle WebSocket connection", () => {
  let http: Server | undefined;
  let server: HubServer | undefined;
  const clients: RawJsonClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await server?.close();
    http?.close();
  });

  it("adds no second 'data' listener to its socket, and still answers the calls of one read in one frame", async () => {
    http = createServer();
    const sockets: Duplex[] = [];
    http.on("upgrade", (_req, socket: Duplex) => sockets.push(socket)); // before hubwire's: sees every upgrade
    server = new HubServer({ logger: silentLogger }).attach(http);
    server.mapHub("/echo", EchoHub);
    await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as { port: number };
    const client = await RawJsonClient.open(`http://127.0.0.1:${port}/echo`);
    clients.push(client);
    expect(sockets).toHaveLength(1);
    const socket = sockets[0]!;
    // One function, joined to ws's: listeners() still names ws's, which ws removes by that name.
    expect(socket.rawListeners("data")).toHaveLength(1);
    const [wsData] = socket.listeners("data");
    expect(socket.rawListeners("data")[0]).not.toBe(wsData);
    const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === "websocket")!;
    const receiver = (socket as unknown as Record<symbol, { _receiver: Duplex }>)[key]!._receiver;
    expect(receiver.rawListeners("error")).toHaveLength(1);
    expect(receiver.rawListeners("ping")).toHaveLength(1); // pings answered by the transport, joined to ws's listener

    client.sendTogether([1, 2].map((n) => `{"type":1,"invocationId":"${n}","target":"Echo","arguments":["${n}"]}${RS}`));
    await client.completion("2");
    expect(client.frames.slice(1)).toEqual([`{"type":3,"invocationId":"1","result":"1"}${RS}{"type":3,"invocationId":"2","result":"2"}${RS}`]);
    // When the socket closes, ws removes its listener, and the joined one goes with it.
    client.terminate();
    await waitFor(() => socket.listenerCount("data") === 0, () => `the 'data' listeners to go; left ${socket.listenerCount("data")}`);
  });

  it("lets go of the read queue ws grew for the handshake, once the handshake is answered", async () => {
    http = createServer();
    const sockets: Duplex[] = [];
    http.on("upgrade", (_req, socket: Duplex) => sockets.push(socket));
    server = new HubServer({ logger: silentLogger }).attach(http);
    server.mapHub("/echo", EchoHub);
    await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as { port: number };
    const client = await RawJsonClient.open(`http://127.0.0.1:${port}/echo`, { handshake: false });
    clients.push(client);
    // ws refers the upgraded socket to its WebSocket under a symbol of its own.
    const key = Object.getOwnPropertySymbols(sockets[0]!).find((symbol) => symbol.description === "websocket")!;
    const receiver = () => (sockets[0] as unknown as Record<symbol, { _receiver: { _buffers: unknown[] } }>)[key]!._receiver;
    const grown = receiver()._buffers; // the first chunk read grows it to 16 slots, kept after it is consumed
    client.send(`{"protocol":"json","version":1}${RS}`);
    await client.waitFor((frames) => frames.length > 0, "the handshake reply");
    expect(receiver()._buffers).not.toBe(grown);
    expect(receiver()._buffers).toHaveLength(0);
    // And it reads on as before.
    client.send(`{"type":1,"invocationId":"1","target":"Echo","arguments":["a"]}${RS}`);
    expect(await client.completion("1")).toMatchObject({ result: "a" });
  });

  it("keeps the peer's address without the socket caching it, and hubs still read address, headers and URL to the end", async () => {
    http = createServer();
    const sockets: Duplex[] = [];
    http.on("upgrade", (_req, socket: Duplex) => sockets.push(socket));
    server = new HubServer({ logger: silentLogger }).attach(http);
    server.mapHub("/request", RequestHub);
    await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as { port: number };
    seen.length = 0;
    for (const path of ["/request", "/request?q=1"]) {
      const client = await RawJsonClient.open(`http://127.0.0.1:${port}${path}`, { headers: { "User-Agent": "idle-test" } });
      clients.push(client);
      client.send(`{"type":1,"invocationId":"1","target":"Look","arguments":[]}${RS}`);
      await client.completion("1");
    }
    // socket.remoteAddress would have left {address, family, port} on each socket for its life.
    for (const socket of sockets) expect(Object.hasOwn(socket, "_peername")).toBe(false);
    for (const client of clients) client.terminate();
    await waitFor(() => seen.length === 6, () => `onDisconnected of both connections; saw ${JSON.stringify(seen)}`);
    const expected = (url: string, query: string | null) => ({ url, path: "/request", host: `127.0.0.1:${port}`, agent: "idle-test", address: "127.0.0.1", query });
    expect(seen.filter((s) => s.url === "/request")).toEqual(["connected", "call", "disconnected"].map((when) => ({ when, ...expected("/request", null) })));
    expect(seen.filter((s) => s.url !== "/request")).toEqual(["connected", "call", "disconnected"].map((when) => ({ when, ...expected("/request?q=1", "1") })));
  });
});
