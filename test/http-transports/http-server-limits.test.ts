import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { RawJsonClient } from "../robustness/raw-client.js";
import { EventStream, negotiate, send } from "./http-client.js";

@HubClass()
class PlainHub extends Hub<unknown> {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }
}

/** A socket that sends part of a request and then nothing; resolves with how it ended. */
function stalledRequest(port: number, head: string): { socket: Socket; reply: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.on("connect", () => socket.write(head));
  let text = "";
  socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { socket, reply: new Promise((resolve) => socket.once("close", () => resolve(text))) };
}

describe("the HTTP server listen creates", () => {
  let server: HubServer | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await server?.close();
    server = undefined;
  });

  async function start(): Promise<{ port: number; hub: string }> {
    server = new HubServer({ logger: silentLogger, headersTimeout: 500, requestTimeout: 500, pollTimeout: 10_000 });
    server.mapHub("/plain", PlainHub);
    const { port, url } = await server.listen();
    return { port, hub: `${url}/plain` };
  }

  it("ends requests whose headers or body stall, and leaves running connections alone", async () => {
    const { port, hub } = await start();
    // Connections that outlive both timeouts: a WebSocket, an SSE stream, a long poll held open.
    const ws = await RawJsonClient.open(hub);
    const sseToken = await negotiate(hub);
    const sse = await EventStream.open(`${hub}?id=${sseToken}`);
    let sseEnded = false;
    void sse.ended.then(() => (sseEnded = true));
    const pollToken = await negotiate(hub);
    await send(`${hub}?id=${pollToken}`, "GET");
    let pollAnswered = false;
    const poll = send(`${hub}?id=${pollToken}`, "GET").then((reply) => ((pollAnswered = true), reply));

    const headers = stalledRequest(port, "GET /plain/negotiate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a");
    const upgrade = stalledRequest(port, "GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Up");
    const body = stalledRequest(port, `POST /plain?id=${pollToken} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{`);
    sockets.push(headers.socket, upgrade.socket, body.socket);
    expect(await headers.reply).toMatch(/^HTTP\/1\.1 408/);
    expect(await upgrade.reply).toMatch(/^HTTP\/1\.1 408/);
    expect(await body.reply).toMatch(/^HTTP\/1\.1 408/);

    // Opened before the stalled requests, so older than both timeouts: all still serve.
    ws.send(`{"type":1,"invocationId":"1","target":"Echo","arguments":["still here"]}\u001e`);
    expect((await ws.completion("1")).result).toBe("still here");
    expect(sse.status).toBe(200);
    expect(sseEnded).toBe(false);
    expect(pollAnswered).toBe(false);
    sse.abort();
    await send(`${hub}?id=${pollToken}`, "DELETE");
    expect((await poll).status).toBe(204);
  });

  it("refuses timeouts out of range", async () => {
    await expect(new HubServer({ headersTimeout: 0 }).listen()).rejects.toMatchObject({ code: "ERR_INVALID_OPTION" });
    await expect(new HubServer({ headersTimeout: 5000, requestTimeout: 1000 }).listen()).rejects.toMatchObject({ code: "ERR_INVALID_OPTION" });
  });
});
