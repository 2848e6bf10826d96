import { Agent } from "node:http";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubContext, type HubOptions } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { EventStream, negotiate, postText, RS, send } from "./http-client.js";

v8.setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;
const handshake = `{"protocol":"json","version":1}${RS}`;
const ended: Array<{ code?: string } | undefined> = [];

interface FeedClient {
  chunk(text: string): void;
}

@HubClass()
class FeedHub extends Hub<FeedClient> {
  @HubMethod("Noop")
  noop(): void {}

  override onDisconnected(error?: Error): void {
    ended.push(error as { code?: string } | undefined);
  }
}

describe("bounded buffers and no leaks", () => {
  let server: HubServer | undefined;
  let context: HubContext<FeedClient>;
  let hub = "";
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    await server?.close();
    ended.length = 0;
  });

  async function start(options: HubOptions): Promise<void> {
    server = new HubServer({ logger: silentLogger });
    context = server.mapHub("/feed", FeedHub, options);
    hub = `${(await server.listen()).url}/feed`;
  }

  /** Broadcasts `size`-character chunks until the slow client is dropped (bounded). */
  async function floodUntilDropped(size: number): Promise<void> {
    const chunk = "z".repeat(size);
    for (let i = 0; i < 400 && ended.length === 0; i++) {
      await context.clients.all.chunk(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => ended.length === 1, "the slow client to be dropped");
    expect(ended[0]?.code).toBe("ERR_SEND_BUFFER_FULL");
  }

  it("drops a long-polling client that stops polling while the server keeps sending", async () => {
    await start({ maximumSendBufferSize: 64 * 1024 });
    const token = await negotiate(hub);
    await send(`${hub}?id=${token}`, "GET");
    const poll = send(`${hub}?id=${token}`, "GET");
    await postText(`${hub}?id=${token}`, handshake);
    await poll; // and stops polling
    await floodUntilDropped(10_000);
    // Its buffer is gone; should it come back, it is told the connection is over.
    expect((await send(`${hub}?id=${token}`, "GET")).status).toBe(204);
    expect(server!.connectionCount).toBe(0);
  });

  it("drops a Server-Sent Events client that stops reading", async () => {
    await start({ maximumSendBufferSize: 64 * 1024 });
    const token = await negotiate(hub);
    const stream = await EventStream.open(`${hub}?id=${token}`);
    cleanups.push(() => stream.abort());
    await postText(`${hub}?id=${token}`, handshake);
    await stream.waitFor(() => stream.events().length > 0, "the handshake reply");
    stream.pause();
    await floodUntilDropped(1024 * 1024);
    expect(server!.connectionCount).toBe(0);
  });

  it("drops a WebSocket client that stops reading", async () => {
    await start({ maximumSendBufferSize: 64 * 1024 });
    const socket = new WebSocket(hub.replace("http", "ws"));
    cleanups.push(() => socket.terminate());
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const reply = new Promise((resolve) => socket.once("message", resolve));
    socket.send(handshake);
    await reply;
    (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    await floodUntilDropped(1024 * 1024);
    expect(server!.connectionCount).toBe(0);
  });

  it("disposes 500 long-polling and 500 SSE clients that vanish without a word", async () => {
    await start({ disconnectTimeout: 500 });
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const streamAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
    cleanups.push(() => agent.destroy(), () => streamAgent.destroy(), () => vi.useRealTimers());
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    // The server's clock stands still while the clients are set up: however long that takes on a
    // loaded machine, no poller has been away for the disconnect timeout before all are counted.
    vi.useFakeTimers({ toFake: ["Date"] });
    const pollers = await Promise.all(
      Array.from({ length: 500 }, async () => {
        const token = await negotiate(hub, agent);
        await send(`${hub}?id=${token}`, "GET", { agent });
        const poll = send(`${hub}?id=${token}`, "GET", { agent });
        await postText(`${hub}?id=${token}`, handshake, agent);
        await poll; // the handshake reply; then this client is gone
        return token;
      }),
    );
    const streams: EventStream[] = [];
    for (let i = 0; i < 500; i += 50) {
      streams.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, async () => {
            const token = await negotiate(hub, agent);
            const stream = await EventStream.open(`${hub}?id=${token}`, streamAgent);
            await postText(`${hub}?id=${token}`, handshake, agent);
            return stream;
          }),
        )),
      );
    }
    expect(server!.connectionCount).toBe(1000);
    expect(ended).toEqual([]);
    vi.useRealTimers(); // and the pollers have been gone since it stopped
    for (const stream of streams) stream.abort(); // gone without a word

    await waitFor(() => ended.length === 1000 && server!.connectionCount === 0, "every vanished client to be disposed");
    expect(ended.filter((e) => e?.code === "ERR_TRANSPORT_LOST")).toHaveLength(500); // the pollers
    expect((await send(`${hub}?id=${pollers[0]}`, "GET")).status).toBe(404);
    streams.length = 0;
    gc();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);
});
