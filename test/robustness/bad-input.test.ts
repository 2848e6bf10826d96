import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubOptions } from "../../src/index.js";
import { RawJsonClient, RS } from "./raw-client.js";

@HubClass()
class PlainHub extends Hub {
  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  @HubMethod("Nothing")
  nothing(): void {}

  @HubMethod("Null")
  null(): null {
    return null;
  }

  @HubMethod("When")
  when(): Date {
    return new Date(Date.UTC(2000, 0, 1));
  }

  @HubMethod("Bytes")
  bytes(): Uint8Array {
    return new Uint8Array([1, 2, 3]);
  }

  @HubMethod("Slow")
  async slow(label: string): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return label;
  }

  @HubMethod("Fast")
  fast(label: string): string {
    return label;
  }
}

describe("bad input over WebSockets costs only the offending connection", () => {
  let server: HubServer | undefined;
  const clients: RawJsonClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await server?.close();
  });

  async function start(options: HubOptions = {}): Promise<string> {
    server = new HubServer({ logger: silentLogger, enableDetailedErrors: true, ...options });
    server.mapHub("/hub", PlainHub);
    return `${(await server.listen()).url}/hub`;
  }

  async function open(url: string, handshake = true): Promise<RawJsonClient> {
    const client = await RawJsonClient.open(url, { handshake });
    clients.push(client);
    return client;
  }

  async function neighbourStillWorks(neighbour: RawJsonClient): Promise<void> {
    neighbour.send(`{"type":1,"invocationId":"n1","target":"Echo","arguments":["alive"]}${RS}`);
    expect(await neighbour.completion("n1")).toEqual({ type: 3, invocationId: "n1", result: "alive" });
  }

  it.each([
    ["invalid JSON", `{"type":1,${RS}`, "Error reading JSON"],
    ["a message without a type", `{"target":"Echo","arguments":[]}${RS}`, "Missing required property 'type'."],
    ["a numeric target", `{"type":1,"target":5,"arguments":[]}${RS}`, "Expected 'target' to be a non-empty string."],
    ["arguments that are not an array", `{"type":1,"target":"Echo","arguments":"x"}${RS}`, "Expected 'arguments' to be of type Array."],
    ["a numeric invocation id", `{"type":1,"invocationId":7,"target":"Echo","arguments":[]}${RS}`, "Expected 'invocationId' to be a non-empty string."],
    ["a completion with result and error", `{"type":3,"invocationId":"1","result":1,"error":"e"}${RS}`, "mutually exclusive"],
    ["a message without its record separator", `{"type":6}`, "Message is incomplete."],
  ])("closes a connection that sends %s with a Close error; a neighbour keeps working", async (_name, frame, detail) => {
    const url = await start();
    const neighbour = await open(url);
    const bad = await open(url);
    bad.send(frame);
    const close = await bad.next((m) => m.type === 7, "the Close message");
    expect(close.error).toMatch(/^Connection closed with an error\. InvalidDataException: /);
    expect(close.error).toContain(detail);
    expect(close).not.toHaveProperty("allowReconnect");
    expect((await bad.closed).code).toBe(1000);
    await neighbourStillWorks(neighbour);
  });

  it("hides the detail without detailed errors", async () => {
    const url = await start({ enableDetailedErrors: false });
    const bad = await open(url);
    bad.send(`not json${RS}`);
    expect(await bad.next((m) => m.type === 7, "the Close message")).toEqual({ type: 7, error: "Connection closed with an error." });
  });

  it("closes a connection that sends a binary frame under JSON", async () => {
    const url = await start();
    const neighbour = await open(url);
    const bad = await open(url);
    bad.socket.send(Buffer.from(`{"type":6}${RS}`));
    const close = await bad.next((m) => m.type === 7, "the Close message");
    expect(close.error).toBe(
      "Connection closed with an error. InvalidDataException: Invalid input for JSON hub protocol. Expected UTF-8 text.",
    );
    await neighbourStillWorks(neighbour);
  });

  it("closes a connection that sends an oversized message", async () => {
    const url = await start({ maximumReceiveMessageSize: 1024 });
    const neighbour = await open(url);
    const bad = await open(url);
    bad.send(`{"type":1,"invocationId":"1","target":"Echo","arguments":["${"x".repeat(2000)}"]}${RS}`);
    const close = await bad.next((m) => m.type === 7, "the Close message");
    expect(close.error).toBe(
      "Connection closed with an error. InvalidDataException: The maximum message size of 1024B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.",
    );
    await neighbourStillWorks(neighbour);
  });

  it("closes a connection whose one message passes the WebSocket payload limit the same way", async () => {
    const url = await start({ maximumReceiveMessageSize: 1024 }); // frame limit: max(4 x 1 KiB, 1 MiB)
    const neighbour = await open(url);
    const bad = await open(url);
    // 2.2 MB in one frame, one hub message: no more than the limit of it is read (a frame of many
    // small messages is read in pieces: test/http-transports/websocket-bursts.test.ts).
    bad.send(`{"type":6,"padding":"${"x".repeat(2_200_000)}"}${RS}`);
    const close = await bad.next((m) => m.type === 7, "the Close message");
    expect(close.error).toBe(
      "Connection closed with an error. InvalidDataException: The maximum message size of 1024B was exceeded. The message size can be configured with the maximumReceiveMessageSize option.",
    );
    expect((await bad.closed).code).toBe(1000); // not ws's 1009 with no reason
    await neighbourStillWorks(neighbour);
  });

  it("survives a flood of pings and unknown message types", async () => {
    const url = await start();
    const client = await open(url);
    const pings = `{"type":6}${RS}`.repeat(2500);
    for (let i = 0; i < 4; i++) client.send(pings);
    client.send(`{"type":99,"future":true}${RS}`);
    await neighbourStillWorks(client);
  });

  describe("handshake", () => {
    it.each([
      ["malformed JSON", `{"protocol":${RS}`, /^An unexpected error occurred during connection handshake\. InvalidDataException: The handshake is not valid JSON/],
      ["an unknown protocol", `{"protocol":"xml","version":1}${RS}`, /^The protocol 'xml' is not supported\.$/],
      ["an unsupported version", `{"protocol":"json","version":3}${RS}`, /^The server does not support version 3 of the 'json' protocol\.$/],
    ])("refuses %s with a handshake error, then closes", async (_name, frame, error) => {
      const url = await start();
      const client = await open(url, false);
      client.send(frame);
      await client.waitFor((frames) => frames.length > 0, "the handshake reply");
      expect(client.frames[0]!.endsWith(RS)).toBe(true);
      expect(JSON.parse(client.frames[0]!.slice(0, -1)).error).toMatch(error);
      expect((await client.closed).code).toBe(1000);
    });

    it("waits for a handshake's record separator across frames, as ASP.NET Core does", async () => {
      const url = await start();
      const client = await open(url, false);
      client.send(`{"protocol":"json",`);
      client.send(`"version":1}`);
      client.send(`${RS}{"type":1,"invocationId":"1","target":"Echo","arguments":[1]}${RS}`);
      expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", result: 1 });
      expect(client.frames[0]).toBe(`{}${RS}`);
    });

    it("refuses a handshake without its separator once it outgrows maximumReceiveMessageSize", async () => {
      const url = await start({ maximumReceiveMessageSize: 1024 });
      const client = await open(url, false);
      client.send(`{"protocol":"json","version":1,"padding":"`);
      client.send("x".repeat(1100));
      await client.waitFor((frames) => frames.length > 0, "the handshake error");
      expect(client.frames[0]).toBe(`{"error":"Handshake was canceled."}${RS}`);
      expect((await client.closed).code).toBe(1000);
    });

    it("cancels a handshake that never comes", async () => {
      const url = await start({ handshakeTimeout: 100 });
      const client = await open(url, false);
      await client.waitFor((frames) => frames.length > 0, "the handshake error");
      expect(client.frames[0]).toBe(`{"error":"Handshake was canceled."}${RS}`);
      expect((await client.closed).code).toBe(1000);
    });

    it("takes messages that follow the handshake in the same frame", async () => {
      const url = await start();
      const client = await open(url, false);
      client.send(`{"protocol":"json","version":1}${RS}{"type":1,"invocationId":"1","target":"Echo","arguments":[1]}${RS}`);
      expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", result: 1 });
      expect(client.frames[0]).toBe(`{}${RS}`);
    });
  });

  describe("call semantics on the wire", () => {
    it("writes void (as null, like a .NET void method), null, dates and bytes as .NET does", async () => {
      const client = await open(await start());
      client.send(
        [
          `{"type":1,"invocationId":"1","target":"Nothing","arguments":[]}`,
          `{"type":1,"invocationId":"2","target":"Null","arguments":[]}`,
          `{"type":1,"invocationId":"3","target":"When","arguments":[]}`,
          `{"type":1,"invocationId":"4","target":"Bytes","arguments":[]}`,
        ].join(RS) + RS,
      );
      await client.completion("4");
      const text = client.frames.slice(1).join("");
      expect(text).toContain(`{"type":3,"invocationId":"1","result":null}${RS}`);
      expect(text).toContain(`{"type":3,"invocationId":"2","result":null}${RS}`);
      expect(text).toContain(`{"type":3,"invocationId":"3","result":"2000-01-01T00:00:00Z"}${RS}`);
      expect(text).toContain(`{"type":3,"invocationId":"4","result":"AQID"}${RS}`);
    });

    it("answers a burst of calls in one frame", async () => {
      const client = await open(await start());
      client.send([1, 2, 3].map((n) => `{"type":1,"invocationId":"${n}","target":"Fast","arguments":["${n}"]}${RS}`).join(""));
      await client.completion("3");
      expect(client.frames.slice(1)).toEqual([
        `{"type":3,"invocationId":"1","result":"1"}${RS}{"type":3,"invocationId":"2","result":"2"}${RS}{"type":3,"invocationId":"3","result":"3"}${RS}`,
      ]);
    });

    it("answers calls that arrive in one read, each in its own frame, in one frame", async () => {
      const client = await open(await start());
      client.sendTogether([1, 2, 3].map((n) => `{"type":1,"invocationId":"${n}","target":"Fast","arguments":["${n}"]}${RS}`));
      await client.completion("3");
      expect(client.frames.slice(1)).toEqual([
        `{"type":3,"invocationId":"1","result":"1"}${RS}{"type":3,"invocationId":"2","result":"2"}${RS}{"type":3,"invocationId":"3","result":"3"}${RS}`,
      ]);
    });

    it("answers an unknown method only when the call has an id", async () => {
      const client = await open(await start());
      client.send(`{"type":1,"target":"Nope","arguments":[]}${RS}{"type":1,"invocationId":"1","target":"Nope","arguments":[]}${RS}`);
      expect(await client.completion("1")).toEqual({ type: 3, invocationId: "1", error: "Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist." });
      expect(client.messages()).toHaveLength(1);
    });

    it("completes one connection's invocations in order", async () => {
      const client = await open(await start());
      client.send(
        `{"type":1,"invocationId":"1","target":"Slow","arguments":["slow"]}${RS}{"type":1,"invocationId":"2","target":"Fast","arguments":["fast"]}${RS}`,
      );
      await client.completion("2");
      expect(client.messages().map((m) => m.invocationId)).toEqual(["1", "2"]);
    });

    it("runs invocations side by side when allowed", async () => {
      const client = await open(await start({ maximumParallelInvocationsPerClient: 2 }));
      client.send(
        `{"type":1,"invocationId":"1","target":"Slow","arguments":["slow"]}${RS}{"type":1,"invocationId":"2","target":"Fast","arguments":["fast"]}${RS}`,
      );
      await client.completion("1");
      expect(client.messages().map((m) => m.invocationId)).toEqual(["2", "1"]);
    });
  });

  describe("keep-alive and timeouts", () => {
    it("pings an idle client with exactly {\"type\":6}", async () => {
      const client = await open(await start({ keepAliveInterval: 50 }));
      await client.waitFor((frames) => frames.length > 1, "a ping");
      expect(client.frames[1]).toBe(`{"type":6}${RS}`);
    });

    it("closes a client that stays silent past the client timeout", async () => {
      const client = await open(await start({ clientTimeoutInterval: 150, keepAliveInterval: 50 }));
      const close = await client.next((m) => m.type === 7, "the Close message");
      expect(close.error).toBe(
        "Connection closed with an error. TimeoutException: Client timeout (150ms) elapsed without receiving a message from the client.",
      );
    });
  });

  it("tells every client when the server closes, and close() resolves", async () => {
    const url = await start();
    const [a, b] = [await open(url), await open(url)];
    await server!.close();
    for (const client of [a, b]) {
      expect((await client.closed).code).toBe(1000);
      expect(client.frames.at(-1)).toBe(`{"type":7,"allowReconnect":true}${RS}`);
    }
    expect(server!.connectionCount).toBe(0);
  });
});
