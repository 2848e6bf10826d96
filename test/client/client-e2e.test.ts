import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { describe, expect, it } from "vitest";
import { HubConnection, withSignal, type HubConnectionOptions, type TransportKind } from "../../client/index.js";
import { messagePack } from "../../client/msgpack.js";
import { fixturePerTest } from "./fixture-per-test.js";

interface Setup {
  name: string;
  transports: TransportKind[];
  messagePack: boolean;
  transportName: string;
}

const setups: Setup[] = [
  { name: "WebSockets + JSON", transports: ["WebSockets"], messagePack: false, transportName: "WebSockets" },
  { name: "Server-Sent Events + JSON", transports: ["ServerSentEvents"], messagePack: false, transportName: "ServerSentEvents" },
  { name: "long polling + JSON", transports: ["LongPolling"], messagePack: false, transportName: "LongPolling" },
  { name: "WebSockets + MessagePack", transports: ["WebSockets"], messagePack: true, transportName: "WebSockets" },
  { name: "long polling + MessagePack", transports: ["LongPolling"], messagePack: true, transportName: "LongPolling" },
];

async function* items<T>(...values: T[]): AsyncGenerator<T> {
  for (const value of values) yield value;
}

describe.each(setups)("hubwire/client over $name", (setup) => {
  const fixture = fixturePerTest();

  async function connect(path: string, options: HubConnectionOptions = {}): Promise<HubConnection> {
    const connection = new HubConnection(`${fixture.server.url}${path}`, {
      transports: setup.transports,
      reconnect: false,
      ...(setup.messagePack ? { protocol: messagePack } : {}),
      ...options,
    });
    fixture.track(connection);
    await connection.start();
    return connection;
  }

  it("invokes, sends, and receives calls from the server", async () => {
    const connection = await connect("/testhub");
    expect(connection.state).toBe("Connected");
    expect(await connection.invoke("Echo", "hello")).toBe("hello");
    expect(await connection.invoke("GetActiveTransportName")).toBe(setup.transportName);
    expect(await connection.invoke("GetCallerConnectionId")).toBe(connection.connectionId);
    expect(await connection.invoke("GetHeader", "x-nothing")).toBeNull();
    const message = new Promise((resolve) => connection.on("message", resolve)); // names ignore case
    await connection.send("InvokeWithString", "pushed");
    expect(await message).toBe("pushed");
  });

  it("reports hub errors with the official client's texts", async () => {
    const connection = await connect("/testhub");
    const official = new HubConnectionBuilder().withUrl(`${fixture.server.url}/testhub`).configureLogging(LogLevel.None).build();
    await official.start();
    try {
      for (const call of [["ThrowException", "An error occurred."], ["NoSuchMethod"], ["Echo", 1, 2]] as const) {
        const ours = await connection.invoke(call[0], ...call.slice(1)).catch((e: Error) => e.message);
        const theirs = await official.invoke(call[0], ...call.slice(1)).catch((e: Error) => e.message);
        expect(ours).toBe(theirs);
      }
    } finally {
      await official.stop();
    }
  });

  it("streams with for-await and with subscribe, and cancels by leaving the loop", async () => {
    const connection = await connect("/testhub");
    const received: string[] = [];
    for await (const item of connection.stream<string>("Stream")) received.push(item);
    expect(received).toEqual(["a", "b", "c"]);
    const subscribed = await new Promise<number[]>((resolve, reject) => {
      const got: number[] = [];
      connection.stream<number>("EmptyStream").subscribe({ next: (n) => got.push(n), complete: () => resolve(got), error: reject });
    });
    expect(subscribed).toEqual([]);
    const canceled = new Promise((resolve) => connection.on("StreamCanceled", () => resolve("canceled")));
    const infinite = connection.stream("InfiniteStream")[Symbol.asyncIterator]();
    const pending = infinite.next();
    await infinite.return!(); // the hub answers a cancel however early it comes, as .NET's does
    expect(await canceled).toBe("canceled");
    void pending;
  });

  it("cancels a stream with an AbortSignal", async () => {
    const connection = await connect("/interophub");
    const controller = new AbortController();
    const seen: number[] = [];
    const done = (async () => {
      try {
        for await (const n of connection.stream<number>("Counter", 1000, 10, withSignal(controller.signal))) {
          seen.push(n);
          if (seen.length === 3) controller.abort();
        }
      } catch {
        // ended by the abort
      }
    })();
    await done;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThan(1000);
    expect(await connection.invoke("Add", 1, 2)).toBe(3);
  });

  it("uploads async iterables, one or two per call, and reports an upload's error", async () => {
    const connection = await connect("/interophub");
    expect(await connection.invoke("UploadSum", items(1, 2, 3, 4))).toBe(10);
    expect(await connection.invoke("UploadPair", items("a", "b"), items("x"))).toBe("ab|x");
    async function* failing() {
      yield 1;
      throw new Error("Something bad");
    }
    await expect(connection.invoke("UploadSum", failing())).rejects.toThrow(
      "An unexpected error occurred invoking 'UploadSum' on the server. HubException: Something bad",
    );
  });

  it("answers client results with a handler's value or error", async () => {
    const connection = await connect("/interophub");
    connection.on("Result", () => 42);
    expect(await connection.invoke("AskCaller")).toBe(42);
    const test = await connect("/testhub");
    const id = test.connectionId!;
    const ask = async () => (await fetch(`${fixture.server.url}/clientresult/${id}`)).text();
    expect(await ask()).toBe("Client didn't provide a result.");
    test.on("Result", async () => 7);
    expect(await ask()).toBe("7");
    test.off("Result");
    test.on("Result", () => {
      throw new Error("from callback");
    });
    expect(await ask()).toBe("Error: from callback");
  });

  it("authenticates with an access token factory", async () => {
    const token = await (await fetch(`${fixture.server.url}/generateJwtToken`)).text();
    const connection = await connect("/authorizedhub", { accessTokenFactory: () => token });
    expect(await connection.invoke("GetUserIdentifier")).toBe("testuser");
    const anonymous = new HubConnection(`${fixture.server.url}/authorizedhub`, { transports: setup.transports, reconnect: false });
    await expect(anonymous.start()).rejects.toThrow("Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'");
  });

  it("reports a server Close with its error", async () => {
    const connection = await connect("/interophub");
    const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    await connection.send("CloseMe", "Going away", false);
    expect((await closed)?.message).toBe("Server returned an error on close: Going away");
    expect(connection.state).toBe("Disconnected");
  });
});

describe("hubwire/client negotiation", () => {
  const fixture = fixturePerTest();

  it("falls back to Server-Sent Events where WebSockets are not offered", async () => {
    const connection = new HubConnection(`${fixture.server.url}/testhub-nowebsockets`, { reconnect: false });
    fixture.track(connection);
    await connection.start();
    expect(await connection.invoke("GetActiveTransportName")).toBe("ServerSentEvents");
  });

  it("follows redirects and connects without negotiate when asked", async () => {
    const redirected = new HubConnection(`${fixture.server.url}/redirect?baseUrl=${encodeURIComponent(fixture.server.url)}`, { reconnect: false });
    fixture.track(redirected);
    await redirected.start();
    expect(await redirected.invoke("GetNumRedirects")).toBeGreaterThan(0);
    const direct = new HubConnection(`${fixture.server.url}/testhub`, { reconnect: false, skipNegotiation: true, transports: ["WebSockets"] });
    fixture.track(direct);
    await direct.start();
    expect(direct.connectionId).toBeNull();
    expect(await direct.invoke("Echo", "direct")).toBe("direct");
  });

  it("reports a refused handshake", async () => {
    fixture.server.hubs.mapHub("/json-only", (await import("../../samples/interop-server/test-hub.js")).TestHub, { protocols: ["json"] });
    const connection = new HubConnection(`${fixture.server.url}/json-only`, { reconnect: false, protocol: messagePack, transports: ["WebSockets"] });
    await expect(connection.start()).rejects.toThrow("Server returned handshake error: The protocol 'messagepack' is not supported.");
  });
});
