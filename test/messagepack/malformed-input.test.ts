import { HubConnectionBuilder, HttpTransportType, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { encode } from "@msgpack/msgpack";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { frameBinaryRecord } from "../../src/protocol/binary-framing.js";
import { messagePackHubProtocol } from "../../src/protocol/messagepack-protocol.js";
import { waitFor } from "../support/wait.js";

const RS = "\u001e";
const handshake = `{"protocol":"messagepack","version":1}${RS}`;

@HubClass()
class EchoHub extends Hub {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }
}

/** A raw MessagePack client over WebSocket: the frames it gets back, decoded. */
class RawMessagePackSocket {
  readonly frames: Array<Buffer | string> = [];
  readonly closed: Promise<number>;
  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer, isBinary) => this.frames.push(isBinary ? data : data.toString()));
    this.closed = new Promise((resolve) => socket.once("close", resolve));
  }

  static async open(url: string): Promise<RawMessagePackSocket> {
    const socket = new WebSocket(url.replace("http", "ws"));
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const client = new RawMessagePackSocket(socket);
    socket.send(handshake);
    await waitFor(() => client.frames.length > 0, "the handshake reply");
    return client;
  }

  /** Every hub message received after the handshake reply. */
  messages() {
    return this.frames.slice(1).flatMap((frame) => messagePackHubProtocol.parseMessages(new Uint8Array(frame as Buffer)));
  }
}

describe("MessagePack: malformed input closes only the offending connection", () => {
  let server: HubServer | undefined;
  const clients: HubConnection[] = [];
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await server?.close();
  });

  async function start(options: ConstructorParameters<typeof HubServer>[0] = {}): Promise<string> {
    server = new HubServer({ logger: silentLogger, enableDetailedErrors: true, ...options });
    server.mapHub("/echo", EchoHub);
    return `${(await server.listen()).url}/echo`;
  }

  async function bystander(url: string, transport = HttpTransportType.WebSockets): Promise<HubConnection> {
    const client = new HubConnectionBuilder()
      .withUrl(url, { transport })
      .withHubProtocol(new MessagePackHubProtocol())
      .configureLogging(LogLevel.None)
      .build();
    await client.start();
    clients.push(client);
    return client;
  }

  it("answers the handshake in a binary frame and echoes dates and bytes", async () => {
    const url = await start();
    const raw = await RawMessagePackSocket.open(url);
    sockets.push(raw.socket);
    expect(Buffer.isBuffer(raw.frames[0])).toBe(true);
    expect(raw.frames[0]!.toString()).toBe(`{}${RS}`);
    const value = { when: new Date(Date.UTC(2000, 0, 1)), bytes: new Uint8Array([1, 2, 3]) };
    raw.socket.send(frameBinaryRecord(encode([1, {}, "1", "Echo", [value]])));
    await waitFor(() => raw.messages().length > 0, "the completion");
    expect(raw.messages()).toEqual([{ type: 3, invocationId: "1", hasResult: true, result: value }]);
  });

  it.each([
    ["a truncated varint", Buffer.from([0x80]), "Incomplete message."],
    ["a length over the limit", Buffer.from([0xff, 0xff, 0x03]), "The maximum message size of 32768B was exceeded."],
    ["a non-array body", frameBinaryRecord(encode({ type: 1 })), "a message must be a non-empty array."],
    ["a numeric target", frameBinaryRecord(encode([1, {}, "1", 42, []])), "the target must be a non-empty string."],
    ["a text frame after the handshake", `{"type":6}${RS}`, "Expected binary data."],
  ])("closes a WebSocket that sends %s, and a client beside it keeps working", async (_name, frame, detail) => {
    const url = await start();
    const neighbour = await bystander(url);
    const raw = await RawMessagePackSocket.open(url);
    sockets.push(raw.socket);
    raw.socket.send(frame);
    expect(await raw.closed).toBe(1000);
    const [close] = raw.messages();
    expect(close).toMatchObject({ type: 7 });
    expect((close as { error: string }).error).toContain("Connection closed with an error. InvalidDataException: ");
    expect((close as { error: string }).error).toContain(detail);
    expect(await neighbour.invoke("Echo", "still here")).toBe("still here");
  });

  it("ignores an unknown message type", async () => {
    const url = await start();
    const raw = await RawMessagePackSocket.open(url);
    sockets.push(raw.socket);
    raw.socket.send(Buffer.concat([frameBinaryRecord(encode([99, "future"])), frameBinaryRecord(encode([1, {}, "2", "Echo", [7]]))]));
    await waitFor(() => raw.messages().length > 0, "the completion");
    expect(raw.messages()).toEqual([{ type: 3, invocationId: "2", hasResult: true, result: 7 }]);
  });

  it("closes a long-polling connection whose POST is malformed, and a client beside it keeps working", async () => {
    const url = await start();
    const neighbour = await bystander(url, HttpTransportType.LongPolling);
    const negotiated = (await (await fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST" })).json()) as { connectionToken: string };
    const target = `${url}?id=${negotiated.connectionToken}`;
    expect((await fetch(target)).status).toBe(200); // the first poll starts the connection
    const reply = fetch(target).then(async (r) => Buffer.from(await r.arrayBuffer()));
    await fetch(target, { method: "POST", body: handshake, headers: { "Content-Type": "text/plain;charset=UTF-8" } });
    expect((await reply).toString()).toBe(`{}${RS}`);
    const closing = fetch(target).then(async (r) => Buffer.from(await r.arrayBuffer()));
    const post = await fetch(target, {
      method: "POST",
      body: Buffer.from([0x05, 0x91]), // announces five bytes, carries one
      headers: { "Content-Type": "application/octet-stream" },
    });
    expect(post.status).toBe(200);
    const [close] = messagePackHubProtocol.parseMessages(await closing);
    expect(close).toMatchObject({ type: 7, error: "Connection closed with an error. InvalidDataException: Incomplete message." });
    expect((await fetch(target)).status).toBe(204);
    expect(await neighbour.invoke("Echo", "still here")).toBe("still here");
  });

  it("reads long-polling POSTs without a Content-Type as the protocol's bytes, as the .NET client sends them", async () => {
    const url = await start();
    const negotiated = (await (await fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST" })).json()) as { connectionToken: string };
    const target = `${url}?id=${negotiated.connectionToken}`;
    expect((await fetch(target)).status).toBe(200); // the first poll starts the connection
    const reply = fetch(target).then(async (r) => Buffer.from(await r.arrayBuffer()));
    // A Buffer body goes without a Content-Type, as Microsoft.AspNetCore.SignalR.Client posts.
    await fetch(target, { method: "POST", body: Buffer.from(handshake) });
    expect((await reply).toString()).toBe(`{}${RS}`);
    const completion = fetch(target).then(async (r) => Buffer.from(await r.arrayBuffer()));
    const post = await fetch(target, { method: "POST", body: Buffer.from(frameBinaryRecord(encode([1, {}, "1", "Echo", [[1, 2, 3]]]))) });
    expect(post.status).toBe(200);
    expect(messagePackHubProtocol.parseMessages(await completion)).toEqual([
      { type: 3, invocationId: "1", hasResult: true, result: [1, 2, 3] },
    ]);
    expect((await fetch(target, { method: "DELETE" })).status).toBe(202); // ends it, as clients do
  });

  it("refuses MessagePack over Server-Sent Events at the handshake", async () => {
    const url = await start();
    const negotiated = (await (await fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST" })).json()) as { connectionToken: string };
    const target = `${url}?id=${negotiated.connectionToken}`;
    const controller = new AbortController();
    const events = await fetch(target, { headers: { Accept: "text/event-stream" }, signal: controller.signal });
    const reader = events.body!.getReader();
    await fetch(target, { method: "POST", body: handshake, headers: { "Content-Type": "text/plain;charset=UTF-8" } });
    let text = "";
    while (!text.includes("\r\n\r\n")) text += Buffer.from((await reader.read()).value!).toString();
    expect(text).toContain(
      `data: {"error":"Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format."}${RS}`,
    );
    controller.abort();
  });

  it("refuses a protocol the hub has disabled", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/json-only", EchoHub, { protocols: ["json"] });
    const url = `${(await server.listen()).url}/json-only`;
    const client = new HubConnectionBuilder().withUrl(url).withHubProtocol(new MessagePackHubProtocol()).configureLogging(LogLevel.None).build();
    await expect(client.start()).rejects.toThrow("Server returned handshake error: The protocol 'messagepack' is not supported.");
  });
});
