import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubConnection } from "../../client/index.js";
import { Authorize, Hub, HubClass, HubMethod, silentLogger, UploadStream } from "../../src/index.js";
import { TestHost } from "../../src/testing/index.js";

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
    (c) => c.invoke("Plain", 1, noItems()),
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
  // In process: authorization is the dispatcher's business, not the network's.
  let host: TestHost;

  beforeAll(() => {
    host = new TestHost({ logger: silentLogger, policies: { admins: (user) => (user as { admin: boolean }).admin } });
    host.mapHub("/guarded", GuardedHub, { authenticate: (_request, token) => (token ? (users[token] ?? null) : null) });
  });

  afterAll(async () => {
    await host.close();
  });

  async function connect(token?: string): Promise<HubConnection> {
    return (await host.connect(GuardedHub, token ? { token } : {})).connection;
  }

  it.each(calls)("a caller the policy denies learns nothing from %s", async (_shape, method, call) => {
    for (const connection of [await connect("guest"), await connect()]) {
      await expect(call(connection)).rejects.toMatchObject({ message: `Failed to invoke '${method}' because user is unauthorized` });
    }
  });

  it.each(calls)("an allowed caller is told what is wrong with %s", async (_shape, _method, call, outcome) => {
    const connection = await connect("admin");
    if (typeof outcome === "number") expect(await call(connection)).toBe(outcome);
    else await expect(call(connection)).rejects.toMatchObject({ message: outcome });
  });
});

async function collect(connection: HubConnection, method: string, ...args: unknown[]): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of connection.stream(method, ...args)) items.push(item);
  return items;
}

/** An upload stream that ends without an item. */
async function* noItems(): AsyncGenerator<number> {}
