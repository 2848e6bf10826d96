import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubOptions } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { EventStream, negotiate, postText, RS, send } from "./http-client.js";

const disconnected: Array<string | undefined> = [];

@HubClass()
class EchoHub extends Hub<{ tick(n: number): void }> {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  @HubMethod("Burst")
  async burst(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.clients.caller.tick(i);
  }

  override onDisconnected(error?: Error): void {
    disconnected.push(error?.message);
  }
}

const handshake = `{"protocol":"json","version":1}${RS}`;

describe("Server-Sent Events and long polling", () => {
  let server: HubServer | undefined;
  let http: Server | undefined;
  let hub = "";
  const streams: EventStream[] = [];
  /** The `_` query tags of the polls the server has taken. */
  const taken = new Set<string>();
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.abort();
    await server?.close();
    if (http) {
      const closing = new Promise((resolve) => http!.close(resolve));
      http.closeAllConnections();
      await closing;
    }
    server = http = undefined;
    disconnected.length = 0;
    taken.clear();
  });

  async function start(options: HubOptions = {}): Promise<void> {
    // These clients never poll after the test: closing need not wait the usual 5 s for them.
    server = new HubServer({ logger: silentLogger, closeTimeout: 100 });
    server.mapHub("/echo", EchoHub, options);
    http = createServer();
    server.attach(http);
    // Runs after the hub's own listener, which takes a poll (holds or answers it) before it returns.
    http.on("request", (req) => {
      const tag = new URL(req.url!, "http://localhost").searchParams.get("_");
      if (req.method === "GET" && tag) taken.add(tag);
    });
    await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
    hub = `http://127.0.0.1:${(http.address() as { port: number }).port}/echo`;
  }

  /** Waits until the server holds the poll sent with `_=tag`. */
  const held = (tag: string) => waitFor(() => taken.has(tag), `the server to hold poll ${tag}`);

  async function openStream(token: string): Promise<EventStream> {
    const stream = await EventStream.open(`${hub}?id=${token}`);
    streams.push(stream);
    return stream;
  }

  describe("Server-Sent Events", () => {
    it("streams events with the spec's headers, comment and framing", async () => {
      await start();
      const token = await negotiate(hub);
      const stream = await openStream(token);
      expect(stream.status).toBe(200);
      expect(stream.headers).toMatchObject({
        "content-type": "text/event-stream",
        "cache-control": "no-cache,no-store",
        pragma: "no-cache",
        "content-encoding": "identity",
      });
      await stream.waitFor(() => stream.text.startsWith(":\r\n"), "the opening comment");
      expect((await postText(`${hub}?id=${token}`, handshake)).status).toBe(200);
      await stream.waitFor(() => stream.events().length > 0, "the handshake reply");
      expect(stream.text).toBe(`:\r\ndata: {}${RS}\r\n\r\n`);
      // Two messages in one POST body are both handled.
      const two = `{"type":1,"invocationId":"1","target":"Echo","arguments":["a"]}${RS}{"type":1,"invocationId":"2","target":"Echo","arguments":["b"]}${RS}`;
      expect((await postText(`${hub}?id=${token}`, two)).status).toBe(200);
      await stream.waitFor(() => stream.events().join("").includes(`"invocationId":"2"`), "both completions");
      expect(stream.events().join("")).toContain(`{"type":3,"invocationId":"1","result":"a"}${RS}`);
      expect(stream.events().join("")).toContain(`{"type":3,"invocationId":"2","result":"b"}${RS}`);
    });

    it("refuses a second stream, a poll and a DELETE for an SSE connection", async () => {
      await start();
      const token = await negotiate(hub);
      await openStream(token);
      const second = await openStream(token);
      expect(second.status).toBe(409);
      const poll = await send(`${hub}?id=${token}`, "GET");
      expect([poll.status, poll.text]).toEqual([400, "Cannot change transports mid-connection"]);
      const del = await send(`${hub}?id=${token}`, "DELETE");
      expect([del.status, del.text]).toEqual([400, "Cannot terminate this connection using the DELETE endpoint."]);
      const missing = await EventStream.open(hub);
      streams.push(missing);
      expect(missing.status).toBe(400);
      const unknown = await EventStream.open(`${hub}?id=nope`);
      streams.push(unknown);
      expect(unknown.status).toBe(404);
    });

    it("ends the connection when the client drops its stream", async () => {
      await start();
      const token = await negotiate(hub);
      const stream = await openStream(token);
      await postText(`${hub}?id=${token}`, handshake);
      await stream.waitFor(() => stream.events().length > 0, "the handshake reply");
      stream.abort();
      await waitFor(() => disconnected.length === 1 && server!.connectionCount === 0, "the connection to end");
      expect((await postText(`${hub}?id=${token}`, `{"type":6}${RS}`)).status).toBe(404);
    });
  });

  describe("long polling", () => {
    it("answers the first poll at once, then holds polls until there is data", async () => {
      await start();
      const token = await negotiate(hub);
      const first = await send(`${hub}?id=${token}&_=1`, "GET");
      expect([first.status, first.text, first.headers["content-length"], first.headers["content-type"]]).toEqual([
        200,
        "",
        "0",
        "application/octet-stream",
      ]);
      const poll = send(`${hub}?id=${token}&_=2`, "GET");
      await postText(`${hub}?id=${token}`, handshake);
      expect((await poll).text).toBe(`{}${RS}`);
      const next = send(`${hub}?id=${token}&_=3`, "GET");
      await postText(`${hub}?id=${token}`, `{"type":1,"invocationId":"1","target":"Burst","arguments":[3]}${RS}`);
      // Messages written in one go come back in one poll.
      const body = (await next).text;
      expect(body).toBe(
        `{"type":1,"target":"tick","arguments":[0]}${RS}{"type":1,"target":"tick","arguments":[1]}${RS}` +
          `{"type":1,"target":"tick","arguments":[2]}${RS}{"type":3,"invocationId":"1","result":null}${RS}`,
      );
    });

    it("answers an idle poll with an empty 200 after the poll timeout, and never pings", async () => {
      await start({ pollTimeout: 100, keepAliveInterval: 20 });
      const token = await negotiate(hub);
      await send(`${hub}?id=${token}`, "GET");
      const poll = send(`${hub}?id=${token}`, "GET");
      await postText(`${hub}?id=${token}`, handshake);
      expect((await poll).text).toBe(`{}${RS}`);
      for (let i = 0; i < 3; i++) {
        const idle = await send(`${hub}?id=${token}`, "GET");
        expect([idle.status, idle.text]).toEqual([200, ""]);
      }
    });

    it("completes a pending poll with 204 when a newer one arrives", async () => {
      await start();
      const token = await negotiate(hub);
      await send(`${hub}?id=${token}`, "GET");
      const older = send(`${hub}?id=${token}&_=older`, "GET");
      await held("older");
      const newer = send(`${hub}?id=${token}`, "GET");
      expect((await older).status).toBe(204);
      await postText(`${hub}?id=${token}`, handshake);
      expect((await newer).text).toBe(`{}${RS}`);
    });

    it("ends on DELETE: 202, the pending poll gets 204, later requests 404", async () => {
      await start();
      const token = await negotiate(hub);
      await send(`${hub}?id=${token}`, "GET");
      const poll = send(`${hub}?id=${token}`, "GET");
      await postText(`${hub}?id=${token}`, handshake);
      expect((await poll).text).toBe(`{}${RS}`);
      const pending = send(`${hub}?id=${token}&_=pending`, "GET");
      await held("pending");
      expect((await send(`${hub}?id=${token}`, "DELETE")).status).toBe(202);
      expect((await pending).status).toBe(204);
      await waitFor(() => disconnected.length === 1, "onDisconnected");
      expect((await postText(`${hub}?id=${token}`, `{"type":6}${RS}`)).status).toBe(404);
      expect(server!.connectionCount).toBe(0);
    });

    it("sends a Close when the server shuts down, then 204", async () => {
      await start();
      const token = await negotiate(hub);
      await send(`${hub}?id=${token}`, "GET");
      const poll = send(`${hub}?id=${token}`, "GET");
      await postText(`${hub}?id=${token}`, handshake);
      await poll;
      const last = send(`${hub}?id=${token}&_=last`, "GET");
      await held("last");
      const closing = server!.close();
      expect((await last).text).toBe(`{"type":7,"allowReconnect":true}${RS}`);
      await closing;
      expect(disconnected).toEqual([undefined]);
    });
  });

  it("answers a send for a transport the endpoint does not offer with 404", async () => {
    await start({ transports: ["WebSockets"] });
    const token = await negotiate(hub);
    const poll = await send(`${hub}?id=${token}`, "GET");
    expect([poll.status, poll.text]).toEqual([404, "LongPolling transport not supported by this end point type"]);
    const stream = await openStream(token);
    expect(stream.status).toBe(404);
  });

  it("refuses a POST body over the limit with 413 and ends that connection only, with its Close message", async () => {
    await start({ maximumReceiveMessageSize: 1024 }); // POST limit: max(4 x 1 KiB, 1 MiB)
    const [bad, good] = [await negotiate(hub), await negotiate(hub)];
    for (const token of [bad, good]) {
      await send(`${hub}?id=${token}`, "GET");
      const poll = send(`${hub}?id=${token}`, "GET");
      await postText(`${hub}?id=${token}`, handshake);
      await poll;
    }
    const big = await postText(`${hub}?id=${bad}`, "x".repeat(2 * 1024 * 1024));
    expect(big.status).toBe(413);
    // Told why on its next poll, as for a message over maximumReceiveMessageSize; then 204.
    const told = await send(`${hub}?id=${bad}`, "GET");
    expect(JSON.parse(told.text.slice(0, -1))).toEqual({ type: 7, error: "Connection closed with an error." });
    expect((await send(`${hub}?id=${bad}`, "GET")).status).toBe(204);
    await waitFor(() => disconnected.length === 1, "the oversized sender to be dropped");
    expect(disconnected[0]).toContain("The maximum message size of 1024B was exceeded.");
    const poll = send(`${hub}?id=${good}`, "GET");
    await postText(`${hub}?id=${good}`, `{"type":1,"invocationId":"1","target":"Echo","arguments":[1]}${RS}`);
    expect((await poll).text).toBe(`{"type":3,"invocationId":"1","result":1}${RS}`);
  });

  it("reads a POST that is not UTF-8 as bytes: JSON refuses them, closing that connection only; MessagePack takes them without a Content-Type", async () => {
    await start({ enableDetailedErrors: true });
    const [bad, good, binary] = [await negotiate(hub), await negotiate(hub), await negotiate(hub)];
    const handshakes = { [bad]: handshake, [good]: handshake, [binary]: `{"protocol":"messagepack","version":1}${RS}` };
    for (const token of [bad, good, binary]) {
      await send(`${hub}?id=${token}`, "GET");
      const poll = send(`${hub}?id=${token}`, "GET");
      await postText(`${hub}?id=${token}`, handshakes[token]!);
      await poll;
    }
    // An Echo whose argument holds a byte UTF-8 never has, posted as text.
    const notUtf8 = Buffer.concat([Buffer.from(`{"type":1,"invocationId":"1","target":"Echo","arguments":["a`), Buffer.from([0xff]), Buffer.from(`"]}${RS}`)]);
    expect((await send(`${hub}?id=${bad}`, "POST", { body: notUtf8, headers: { "Content-Type": "text/plain;charset=UTF-8" } })).status).toBe(200);
    const told = await send(`${hub}?id=${bad}`, "GET");
    expect(JSON.parse(told.text.slice(0, -1))).toEqual({ type: 7, error: "Connection closed with an error. InvalidDataException: Invalid input for JSON hub protocol. Expected UTF-8 text." });
    expect((await send(`${hub}?id=${bad}`, "GET")).status).toBe(204);
    const poll = send(`${hub}?id=${good}`, "GET");
    await postText(`${hub}?id=${good}`, `{"type":1,"invocationId":"1","target":"Echo","arguments":["still here"]}${RS}`);
    expect((await poll).text).toBe(`{"type":3,"invocationId":"1","result":"still here"}${RS}`);
    // As the .NET client posts MessagePack: no Content-Type. [1, {}, "1", "Echo", [255]] with its length prefix; 0xcc 0xff is not UTF-8.
    const invocation = Uint8Array.from([0x0d, 0x95, 0x01, 0x80, 0xa1, 0x31, 0xa4, 0x45, 0x63, 0x68, 0x6f, 0x91, 0xcc, 0xff]);
    const answer = send(`${hub}?id=${binary}`, "GET");
    expect((await send(`${hub}?id=${binary}`, "POST", { body: invocation })).status).toBe(200);
    // A Completion [3, {}, "1", 3, 255].
    expect([...(await answer).body]).toEqual([0x08, 0x95, 0x03, 0x80, 0xa1, 0x31, 0x03, 0xcc, 0xff]);
  });
});
