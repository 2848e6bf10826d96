import { HttpTransportType, HubConnectionBuilder, LogLevel, Subject, type HubConnection } from "@microsoft/signalr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authorize, Hub, HubClass, HubMethod, HubServer, silentLogger, UploadStream } from "../../src/index.js";

@HubClass()
class GuardedHub extends Hub {
  @HubMethod("Plain") @Authorize("admins")
  plain(a: number): number {
    return a;
  }

  @HubMethod("Ticks") @Authorize("admins")
  async *ticks(count: number): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) yield i;
  }

  @HubMethod("Sum") @Authorize("admins")
  async sum(@UploadStream() items: AsyncIterable<number>): Promise<number> {
    let total = 0;
    for await (const item of items) total += item;
    return total;
  }
}

const users: Record<string, { sub: string; admin: boolean }> = {
  admin: { sub: "ada", admin: true },
  guest: { sub: "gus", admin: false },
};

/** Every shape a call can take, right or wrong, and what an admin is told about each. */
const calls: Array<[string, string, (c: HubConnection) => Promise<unknown>, string | number]> = [
  ["a right call", "Plain", (c) => c.invoke("Plain", 1), 1],
  ["too many arguments", "Plain", (c) => c.invoke("Plain", 1, 2), "Failed to invoke 'Plain' due to an error on the server."],
  ["no arguments", "Plain", (c) => c.invoke("Plain"), "Failed to invoke 'Plain' due to an error on the server."],
  [
    "stream() on a plain method",
    "Plain",
    (c) => collect(c, "Plain", 1),
    "The client attempted to invoke the non-streaming 'Plain' method with a streaming invocation.",
  ],
  [
    "invoke() on a streaming method",
    "Ticks",
    (c) => c.invoke("Ticks", 1),
    "The client attempted to invoke the streaming 'Ticks' method with a non-streaming invocation.",
  ],
  [
    "an upload stream the method does not take",
    "Plain",
    (c) => c.invoke("Plain", 1, new Subject<number>()),
    "An unexpected error occurred invoking 'Plain' on the server. HubException: Client sent 1 stream(s), Hub method expects 0.",
  ],
  [
    "no upload stream for an upload method",
    "Sum",
    (c) => c.invoke("Sum"),
    "An unexpected error occurred invoking 'Sum' on the server. HubException: Client sent 0 stream(s), Hub method expects 1.",
  ],
];

describe("authorization comes before any check of a call's shape", () => {
  let server: HubServer;
  let url: string;
  const connections: HubConnection[] = [];

  beforeAll(async () => {
    server = new HubServer({ logger: silentLogger, policies: { admins: (user) => (user as { admin: boolean }).admin } });
    server.mapHub("/guarded", GuardedHub, { authenticate: (_request, token) => (token ? (users[token] ?? null) : null) });
    url = `${(await server.listen()).url}/guarded`;
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.stop()));
    await server.close();
  });

  async function connect(token?: string): Promise<HubConnection> {
    const connection = new HubConnectionBuilder()
      .withUrl(url, { transport: HttpTransportType.WebSockets, ...(token ? { accessTokenFactory: () => token } : {}) })
      .configureLogging(LogLevel.None)
      .build();
    connections.push(connection);
    await connection.start();
    return connection;
  }

  it.each(calls)("a caller the policy denies learns nothing from %s", async (_shape, method, call) => {
    for (const connection of [await connect("guest"), await connect()]) {
      await expect(call(connection)).rejects.toThrow(new Error(`Failed to invoke '${method}' because user is unauthorized`));
    }
  });

  it.each(calls)("an allowed caller is told what is wrong with %s", async (_shape, _method, call, outcome) => {
    const connection = await connect("admin");
    if (typeof outcome === "number") expect(await call(connection)).toBe(outcome);
    else await expect(call(connection)).rejects.toThrow(new Error(outcome));
  });
});

function collect(connection: HubConnection, method: string, ...args: unknown[]): Promise<unknown[]> {
  const items: unknown[] = [];
  return new Promise((resolve, reject) => {
    connection.stream(method, ...args).subscribe({ next: (item) => items.push(item), error: reject, complete: () => resolve(items) });
  });
}
