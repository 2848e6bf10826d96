import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection as OfficialConnection } from "@microsoft/signalr";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { HubConnection } from "../../client/index.js";
import {
  consoleLogger,
  Hub,
  HubClass,
  HubMethod,
  HubServer,
  UploadStream,
  type HubFilter,
  type HubOptions,
  type Logger,
} from "../../src/index.js";
import { TestHost } from "../../src/testing/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";

/** What JavaScript lets a hub throw besides an Error, each made fresh for every throw. */
const kinds: Record<string, () => unknown> = {
  undefined: () => undefined,
  null: () => null,
  string: () => "plain text",
  bigint: () => 10n,
  cycle: () => {
    const value: Record<string, unknown> = { name: "cycle" };
    value.self = value;
    return value;
  },
  "throwing toJSON": () => ({
    toJSON() {
      throw new Error("toJSON refuses");
    },
  }),
  "object without prototype": () => Object.create(null),
  "Proxy that throws on every access": () =>
    new Proxy(
      {},
      {
        get() {
          throw new Error("get trap");
        },
        getPrototypeOf() {
          throw new Error("getPrototypeOf trap");
        },
        ownKeys() {
          throw new Error("ownKeys trap");
        },
        has() {
          throw new Error("has trap");
        },
      },
    ),
  "Proxy of an Error that throws on every access": () =>
    new Proxy(new Error("hidden"), {
      get() {
        throw new Error("get trap");
      },
    }),
};
const kindNames = Object.keys(kinds);
const thrown = (kind: string): unknown => kinds[kind]!();

/** Where lifecycle events read which kind to throw: the connection's query string. */
const kindOf = (hub: Hub): string | undefined => hub.context.request.query.get("kind") ?? undefined;

@HubClass()
class ThrowingHub extends Hub {
  override onConnected(): void {
    const kind = kindOf(this);
    if (kind && this.context.request.query.get("when") === "connected") throw thrown(kind);
  }

  override async onDisconnected(): Promise<void> {
    const kind = kindOf(this);
    if (kind && this.context.request.query.get("when") === "disconnected") throw thrown(kind);
  }

  @HubMethod("Throw")
  throwNow(kind: string): never {
    throw thrown(kind);
  }

  @HubMethod("ThrowLater")
  async throwLater(kind: string): Promise<never> {
    await Promise.resolve();
    throw thrown(kind);
  }

  @HubMethod("StreamThenThrow")
  async *streamThenThrow(kind: string): AsyncGenerator<number> {
    yield 1;
    throw thrown(kind);
  }

  @HubMethod({ name: "StreamThrowsFirst", stream: true })
  streamThrowsFirst(kind: string): AsyncIterable<number> {
    throw thrown(kind);
  }

  @HubMethod("UploadThenThrow")
  async uploadThenThrow(kind: string, @UploadStream() items: AsyncIterable<number>): Promise<never> {
    for await (const _ of items) break;
    throw thrown(kind);
  }

  @HubMethod("UploadThrowsNow")
  uploadThrowsNow(kind: string, @UploadStream() _items: AsyncIterable<number>): never {
    throw thrown(kind);
  }

  @HubMethod("Filtered")
  filtered(_kind: string, _when: string): string {
    return "not reached when the filter throws";
  }

  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }
}

/** A filter that throws the kind a call names, before or after awaiting. */
const throwingFilter: HubFilter = {
  invokeMethod(invocation, next) {
    if (invocation.method.wireName !== "Filtered") return next(invocation);
    const [kind, when] = invocation.arguments as [string, string];
    if (when === "sync") throw thrown(kind);
    return Promise.resolve().then(() => {
      throw thrown(kind);
    });
  },
  onConnected(context, next) {
    const kind = kindOf(context.hub);
    if (kind && context.hub.context.request.query.get("when") === "filter-connected") throw thrown(kind);
    return next(context);
  },
  async onDisconnected(context, error, next) {
    const kind = kindOf(context.hub);
    if (kind && context.hub.context.request.query.get("when") === "filter-disconnected") throw thrown(kind);
    return next(context, error);
  },
};

const threwText = (method: string) => `An unexpected error occurred invoking '${method}' on the server.`;

/** Loggers a server may be given: each must leave every call answered. */
const loggers: Array<[string, () => { logger: Logger; restore(): void }]> = [
  [
    "consoleLogger at debug",
    () => {
      // Its lines go to stderr; kept out of the test output, and read to see they were written.
      const write = process.stderr.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      return { logger: consoleLogger("debug"), restore: () => void (process.stderr.write = write) };
    },
  ],
  [
    "a logger that throws on every line",
    () => {
      const fail = (): never => {
        throw new Error("logger down");
      };
      return { logger: { debug: fail, info: fail, warn: fail, error: fail }, restore: () => {} };
    },
  ],
  [
    "an async logger whose every line rejects",
    () => {
      const reject = () => Promise.reject(new Error("logger down"));
      return { logger: { debug: reject, info: reject, warn: reject, error: reject } as unknown as Logger, restore: () => {} };
    },
  ],
  [
    "a logger that throws what it was given",
    () => {
      const rethrow = (_message: string, fields?: Record<string, unknown>): never => {
        throw fields?.error ?? fields;
      };
      return { logger: { debug: rethrow, info: rethrow, warn: rethrow, error: rethrow }, restore: () => {} };
    },
  ],
];

describe.each(loggers)("any thrown value fails only its call, with %s", (_name, makeLogger) => {
  // Calls and lifecycle events run in process (what a thrown value does is the hub stack's
  // business); the Close a failed onConnected sends is checked on the wire, where it is seen.
  let host: TestHost;
  let server: HubServer;
  let url: string;
  let restoreLogger: () => void;
  const crashes: unknown[] = [];
  const onCrash = (error: unknown): void => void crashes.push(error);
  const connections: OfficialConnection[] = [];
  const raws: RawJsonClient[] = [];

  beforeAll(async () => {
    process.on("uncaughtException", onCrash);
    process.on("unhandledRejection", onCrash);
    const { logger, restore } = makeLogger();
    restoreLogger = restore;
    host = new TestHost({ logger, filters: [throwingFilter] });
    host.mapHub("/throwing", ThrowingHub);
    server = new HubServer({ logger, filters: [throwingFilter] });
    server.mapHub("/throwing", ThrowingHub);
    url = `${(await server.listen()).url}/throwing`;
  });

  afterEach(async () => {
    await host.disconnectAll();
    await Promise.all(connections.splice(0).map((c) => c.stop()));
    for (const raw of raws.splice(0)) raw.terminate();
    expect(crashes).toEqual([]);
  });

  afterAll(async () => {
    await host.close();
    await server.close();
    restoreLogger();
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
  });

  async function connect(query: Record<string, string> = {}): Promise<HubConnection> {
    return (await host.connect(ThrowingHub, { query })).connection;
  }

  async function connectOverWebSocket(): Promise<OfficialConnection> {
    const connection = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.WebSockets }).configureLogging(LogLevel.None).build();
    connections.push(connection);
    await connection.start();
    return connection;
  }

  async function raw(query: string): Promise<RawJsonClient> {
    const client = await RawJsonClient.open(`${url}${query}`);
    raws.push(client);
    return client;
  }

  it("answers invoke with the spec's text, sync and async, and the connection goes on", async () => {
    const connection = await connect();
    for (const kind of kindNames) {
      await expect(connection.invoke("Throw", kind), kind).rejects.toThrow(threwText("Throw"));
      await expect(connection.invoke("ThrowLater", kind), kind).rejects.toThrow(threwText("ThrowLater"));
      expect(await connection.invoke("Echo", kind)).toBe(kind);
    }
  });

  it("drops a send's failure silently, sync and async, and the connection goes on", async () => {
    const connection = await connect();
    for (const kind of kindNames) {
      await connection.send("Throw", kind);
      await connection.send("ThrowLater", kind);
      expect(await connection.invoke("Echo", kind)).toBe(kind);
    }
  });

  it("ends a stream with the spec's text, thrown before or while streaming", async () => {
    const connection = await connect();
    for (const kind of kindNames) {
      const midway = await collect(connection, "StreamThenThrow", kind);
      expect(midway, kind).toEqual({ items: [1], error: "An error occurred on the server while streaming results." });
      const first = await collect(connection, "StreamThrowsFirst", kind);
      expect(first, kind).toEqual({ items: [], error: threwText("StreamThrowsFirst") });
      expect(await connection.invoke("Echo", kind)).toBe(kind);
    }
  });

  it("answers an upload method that throws with the spec's text, sync and async", async () => {
    const connection = await connect();
    for (const kind of kindNames) {
      const unread = openUpload();
      await expect(connection.invoke("UploadThrowsNow", kind, unread), kind).rejects.toThrow(threwText("UploadThrowsNow"));
      unread.end();
      const call = connection.invoke("UploadThenThrow", kind, upload(1));
      await expect(call, kind).rejects.toThrow(threwText("UploadThenThrow"));
      expect(await connection.invoke("Echo", kind)).toBe(kind);
    }
  });

  it("answers a filter that throws, sync and async, with the spec's text", async () => {
    const connection = await connect();
    for (const kind of kindNames) {
      await expect(connection.invoke("Filtered", kind, "sync"), kind).rejects.toThrow(threwText("Filtered"));
      await expect(connection.invoke("Filtered", kind, "async"), kind).rejects.toThrow(threwText("Filtered"));
      expect(await connection.invoke("Echo", kind)).toBe(kind);
    }
  });

  it.each(["connected", "filter-connected"])("closes only the connection whose %s throws, with the spec's Close", async (when) => {
    const neighbour = await connectOverWebSocket();
    for (const kind of kindNames) {
      const client = await raw(`?kind=${encodeURIComponent(kind)}&when=${when}`);
      const close = await client.next((m) => m.type === 7, `the Close message (${kind})`);
      expect(close, kind).toEqual({ type: 7, error: "Connection closed with an error." });
      expect(await neighbour.invoke("Echo", kind)).toBe(kind);
    }
  });

  it.each(["disconnected", "filter-disconnected"])("survives a throwing %s", async (when) => {
    const neighbour = await connect();
    for (const kind of kindNames) {
      // A client that stops sends its Close; stop() resolves once onDisconnected has run (and thrown).
      const client = await host.connect(ThrowingHub, { query: { kind, when } });
      await client.stop();
      // A new connection after each: onDisconnected has run, thrown, and left the server serving.
      const next = await connect();
      expect(await next.invoke("Echo", kind)).toBe(kind);
      expect(await neighbour.invoke("Echo", kind)).toBe(kind);
    }
  });
});

describe("detailed errors show any thrown value without failing", () => {
  let server: HubServer;
  let url: string;
  beforeAll(async () => {
    const options: HubOptions = { enableDetailedErrors: true };
    server = new HubServer({ ...options, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    server.mapHub("/throwing", ThrowingHub);
    url = `${(await server.listen()).url}/throwing`;
  });
  afterAll(() => server.close());

  it.each([
    ["undefined", " Error: undefined"],
    ["string", " Error: plain text"],
    ["bigint", " Error: 10"],
    ["cycle", " Error: [object Object]"],
    ["Proxy that throws on every access", " Error: (a thrown value that cannot be shown)"],
    ["Proxy of an Error that throws on every access", " Error: (a thrown value that cannot be shown)"],
  ])("%s", async (kind, detail) => {
    const client = await RawJsonClient.open(url);
    try {
      client.send(`{"type":1,"invocationId":"1","target":"Throw","arguments":[${JSON.stringify(kind)}]}${RS}`);
      expect((await client.completion("1")).error).toBe(threwText("Throw") + detail);
    } finally {
      client.terminate();
    }
  });
});

/** An upload stream of `items`, ended once they have gone. */
async function* upload(...items: number[]): AsyncGenerator<number> {
  yield* items;
}

/** An upload stream without items that stays open until `end()`. */
function openUpload(): AsyncIterable<number> & { end(): void } {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    end,
    async *[Symbol.asyncIterator]() {
      await ended;
    },
  };
}

async function collect(connection: HubConnection, method: string, kind: string): Promise<{ items: number[]; error: string | undefined }> {
  const items: number[] = [];
  return new Promise((resolve) => {
    connection.stream<number>(method, kind).subscribe({
      next: (item) => items.push(item),
      error: (error: unknown) => resolve({ items, error: (error as Error).message }),
      complete: () => resolve({ items, error: undefined }),
    });
  });
}
