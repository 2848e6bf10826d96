import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Hub, HubClass, HubException, HubMethod, HubServer, silentLogger, type HubServerOptions } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { waitFor } from "../support/wait.js";

// A plain JSON Completion is written as UTF-8 bytes and framed as text by a WebSocket (and
// queued as bytes by long polling); everything else is written as text. On the wire nothing
// may tell them apart: each reply is the record the text writer makes, and the replies of one
// read share one frame whichever way each was written.

interface NoteClient {
  note(text: string): void;
}

@HubClass()
class ReplyHub extends Hub<NoteClient> {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  @HubMethod("Nothing")
  nothing(): void {}

  @HubMethod("Fail")
  fail(text: string): never {
    throw new HubException(text);
  }

  @HubMethod("Function")
  func(): unknown {
    return () => 1;
  }

  @HubMethod("BigInt")
  bigint(): unknown {
    return 10n;
  }

  /** Sends the caller a message (text, made once for its recipients), then returns `value`. */
  @HubMethod("NoteThenEcho")
  async noteThenEcho(value: string): Promise<string> {
    await this.clients.caller.note(`before ${value}`);
    return value;
  }
}

const completion = (id: string, rest: string) => `{"type":3,"invocationId":"${id}"${rest}}${RS}`;
const invocation = (id: string, target: string, args: unknown[]) =>
  `{"type":1,"invocationId":"${id}","target":"${target}","arguments":${JSON.stringify(args)}}${RS}`;

describe("JSON Completions written as bytes", () => {
  let server: HubServer | undefined;
  let url = "";
  const raws: RawJsonClient[] = [];
  const sockets: WebSocket[] = [];
  const officials: HubConnection[] = [];
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.terminate();
    for (const socket of sockets.splice(0)) socket.terminate();
    await Promise.all(officials.splice(0).map((c) => c.stop()));
    await server?.close();
    server = undefined;
  });

  async function start(options: HubServerOptions = {}): Promise<void> {
    server = new HubServer({ logger: silentLogger, ...options });
    server.mapHub("/replies", ReplyHub);
    const { port } = await server.listen(0, "127.0.0.1");
    url = `http://127.0.0.1:${port}/replies`;
  }

  async function raw(): Promise<RawJsonClient> {
    const client = await RawJsonClient.open(url);
    raws.push(client);
    return client;
  }

  /** Sends `record` and returns the next frame. */
  async function reply(client: RawJsonClient, record: string): Promise<string> {
    const received = client.frames.length;
    client.send(record);
    await client.waitFor((frames) => frames.length > received, `the reply to ${record}`);
    return client.frames[received]!;
  }

  it("sends each reply over a WebSocket as one text frame holding exactly the text writer's record", async () => {
    await start();
    const client = await raw();
    const cases: Array<[string, unknown[], string]> = [
      ["Echo", ["plain ASCII"], `,"result":"plain ASCII"`],
      ["Echo", ["héllo € 😀"], `,"result":"héllo € 😀"`],
      ["Echo", ['a "quoted" \\ line\n'], `,"result":${JSON.stringify('a "quoted" \\ line\n')}`],
      ["Echo", [42.5], `,"result":42.5`],
      ["Echo", [true], `,"result":true`],
      ["Echo", [null], `,"result":null`],
      ["Echo", [{ a: [1, "b"] }], `,"result":{"a":[1,"b"]}`],
      ["Nothing", [], `,"result":null`],
      ["Fail", ["plain failure"], `,"error":"An unexpected error occurred invoking 'Fail' on the server. HubException: plain failure"`],
      ["Fail", ["échec"], `,"error":"An unexpected error occurred invoking 'Fail' on the server. HubException: échec"`],
      // A value JSON cannot hold is left out, as it would be as an object's property.
      ["Function", [], ``],
    ];
    for (const [i, [target, args, rest]] of cases.entries()) {
      expect(await reply(client, invocation(String(i), target, args))).toBe(completion(String(i), rest));
    }
  });

  it("fails only the call whose result JSON cannot hold", async () => {
    await start();
    const client = await raw();
    const failed = JSON.parse((await reply(client, invocation("1", "BigInt", []))).slice(0, -1)) as Record<string, unknown>;
    expect(failed).toMatchObject({ type: 3, invocationId: "1" });
    expect(failed.error).toContain("An unexpected error occurred invoking 'BigInt' on the server.");
    expect(await reply(client, invocation("2", "Echo", ["still here"]))).toBe(completion("2", `,"result":"still here"`));
  });

  it("sends the replies to one read in one frame, written as bytes and as text alike", async () => {
    await start();
    const client = await raw();
    const received = client.frames.length;
    // Plain, multi-byte, plain: bytes, text, bytes in one batch.
    client.sendTogether([invocation("1", "Echo", ["one"]), invocation("2", "Echo", ["twö"]), invocation("3", "Echo", [3])]);
    await client.waitFor(() => client.messages().length >= 3, "three replies");
    expect(client.frames.slice(received)).toEqual([
      completion("1", `,"result":"one"`) + completion("2", `,"result":"twö"`) + completion("3", `,"result":3`),
    ]);
  });

  it("sends the replies to one read past 16 KiB, whose frame is written as header and bytes, as one text frame", async () => {
    await start();
    const client = await raw();
    const received = client.frames.length;
    const value = "x".repeat(250);
    const ids = Array.from({ length: 300 }, (_, i) => String(i));
    client.sendTogether(ids.map((id) => invocation(id, "Echo", [value])));
    await client.waitFor(() => client.messages().length >= 300, "three hundred replies");
    const frames = client.frames.slice(received);
    expect(frames.join("")).toBe(ids.map((id) => completion(id, `,"result":"${value}"`)).join(""));
    // One read's replies share a frame; the loader's writes may reach the server in a few reads.
    expect(Math.max(...frames.map((frame) => frame.length))).toBeGreaterThan(16 * 1024);
  });

  it("sends a message to the caller and its call's reply, made as text and as bytes, in the order they were written", async () => {
    await start();
    const client = await raw();
    const received = client.frames.length;
    client.send(invocation("1", "NoteThenEcho", ["x"]));
    await client.waitFor(() => client.messages().length >= 2, "the note and the reply");
    expect(client.frames.slice(received).join("")).toBe(
      `{"type":1,"target":"note","arguments":["before x"]}${RS}` + completion("1", `,"result":"x"`),
    );
  });

  it("replays a reply written as bytes after a stateful WebSocket reconnects, as the same text frame", async () => {
    await start({ allowStatefulReconnects: true });
    const negotiated = (await (await fetch(`${url}/negotiate?negotiateVersion=1&useStatefulReconnect=true`, { method: "POST" })).json()) as {
      connectionToken: string;
    };
    const socketUrl = `${url.replace("http", "ws")}?id=${negotiated.connectionToken}`;
    const open = async (): Promise<{ socket: WebSocket; frames: string[] }> => {
      const socket = new WebSocket(socketUrl);
      sockets.push(socket);
      const frames: string[] = [];
      socket.on("message", (data: Buffer, binary) => frames.push(binary ? "(binary)" : data.toString()));
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      return { socket, frames };
    };
    const first = await open();
    first.socket.send(`{"protocol":"json","version":2}${RS}`);
    first.socket.send(invocation("1", "Echo", ["plain"]) + invocation("2", "Echo", ["multi-byte é"]));
    const replies = [completion("1", `,"result":"plain"`), completion("2", `,"result":"multi-byte é"`)];
    await waitFor(() => first.frames.join("").includes(replies[1]!), () => `the replies; got ${JSON.stringify(first.frames)}`);
    // Dropped before the client acknowledged anything: both replies wait in the server's buffer.
    first.socket.terminate();
    await new Promise((resolve) => first.socket.once("close", resolve));

    const second = await open();
    second.socket.send(`{"protocol":"json","version":2}${RS}{"type":9,"sequenceId":3}${RS}`);
    await waitFor(() => second.frames.join("").includes(replies[1]!), () => `the replay; got ${JSON.stringify(second.frames)}`);
    // Where the replay starts, then each reply again as its own text frame.
    expect(second.frames).toEqual([`{"type":9,"sequenceId":1}${RS}`, ...replies]);
  });

  it.each([
    ["long polling", HttpTransportType.LongPolling],
    ["Server-Sent Events", HttpTransportType.ServerSentEvents],
    ["WebSockets", HttpTransportType.WebSockets],
  ])("answers the official client over %s, plain and multi-byte results alike", async (_name, transport) => {
    await start();
    const connection = new HubConnectionBuilder().withUrl(url, { transport }).configureLogging(LogLevel.None).build();
    officials.push(connection);
    await connection.start();
    const notes: string[] = [];
    connection.on("note", (text: string) => notes.push(text));
    const results = await Promise.all([
      connection.invoke("Echo", "plain"),
      connection.invoke("Echo", "héllo € 😀"),
      connection.invoke("Echo", 7),
      connection.invoke("Nothing"),
      connection.invoke("NoteThenEcho", "noted"),
    ]);
    expect(results).toEqual(["plain", "héllo € 😀", 7, null, "noted"]);
    expect(notes).toEqual(["before noted"]);
    await expect(connection.invoke("Fail", "échec")).rejects.toThrow("HubException: échec");
  });
});
