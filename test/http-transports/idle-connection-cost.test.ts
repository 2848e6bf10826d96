import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";

// What an idle WebSocket connection holds beyond ws's own is what bounds memory per connection
// (docs/benchmarks.md): hubwire adds one listener to the upgraded socket. A second one costs more
// than its own size: a socket's third listener for an event grows the listener array by 16 slots.

@HubClass()
class EchoHub extends Hub {
  @HubMethod("Echo")
  echo(value: string): string {
    return value;
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

  it("adds one 'data' listener to its socket, and still answers the calls of one read in one frame", async () => {
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
    expect(sockets[0]!.listenerCount("data")).toBe(2); // ws's, then hubwire's read end

    client.sendTogether([1, 2].map((n) => `{"type":1,"invocationId":"${n}","target":"Echo","arguments":["${n}"]}${RS}`));
    await client.completion("2");
    expect(client.frames.slice(1)).toEqual([`{"type":3,"invocationId":"1","result":"1"}${RS}{"type":3,"invocationId":"2","result":"2"}${RS}`]);
  });
});
