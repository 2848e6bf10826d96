import { afterEach, describe, expect, it } from "vitest";
import {
  Hub,
  HubClass,
  HubException,
  HubMethod,
  HubServer,
  silentLogger,
  UploadStream,
  type HubFilter,
  type HubOptions,
} from "../../src/index.js";
import { TestHost, type TestClient } from "../../src/testing/index.js";

/** What the hub and the filters did, in order. */
const log: string[] = [];
/** The log without the hub's own lifecycle entries. */
const methodLog = (): string[] => log.filter((entry) => !/^hub (dis)?connected/.test(entry));

@HubClass()
class FilteredHub extends Hub {
  override onConnected(): void {
    log.push(`hub connected ${this.context.connectionId}`);
  }

  override onDisconnected(error?: Error): void {
    log.push(`hub disconnected ${error ? "with error" : "cleanly"}`);
  }

  @HubMethod("Add")
  add(a: number, b: number): number {
    log.push(`Add(${a}, ${b})`);
    return a + b;
  }

  @HubMethod("Secret")
  secret(): string {
    log.push("Secret ran");
    return "secret";
  }

  @HubMethod("Count")
  async *count(to: number): AsyncGenerator<number> {
    for (let i = 1; i <= to; i++) yield i;
  }

  @HubMethod("Sum")
  async sum(@UploadStream() numbers: AsyncIterable<number>): Promise<number> {
    let total = 0;
    for await (const n of numbers) total += n;
    return total;
  }
}

/** A filter that logs around each call and event under `name`. */
function tracing(name: string): HubFilter {
  return {
    async invokeMethod(invocation, next) {
      log.push(`${name}> ${invocation.method.wireName}`);
      const result = await next(invocation);
      log.push(`<${name} ${String(result)}`);
      return result;
    },
    async onConnected(context, next) {
      log.push(`${name} connected`);
      await next(context);
    },
    async onDisconnected(context, error, next) {
      log.push(`${name} disconnected`);
      await next(context, error);
    },
  };
}

describe("hub filters", () => {
  // In process: what filters do is the hub stack's business, not the network's.
  let host: TestHost | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
    log.length = 0;
  });

  async function connect(serverFilters: HubFilter[], hubOptions: HubOptions = {}): Promise<TestClient<FilteredHub>> {
    host = new TestHost({ logger: silentLogger, filters: serverFilters });
    host.mapHub("/filtered", FilteredHub, hubOptions);
    return host.connect(FilteredHub);
  }

  it("runs the server's filters, then the hub's, around calls and lifecycle events", async () => {
    const connection = await connect([tracing("server")], { filters: [tracing("hub 1"), tracing("hub 2")] });
    expect(await connection.hub.add(2, 3)).toBe(5);
    const id = connection.connectionId;
    expect(log).toEqual([
      "server connected",
      "hub 1 connected",
      "hub 2 connected",
      `hub connected ${id}`,
      "server> Add",
      "hub 1> Add",
      "hub 2> Add",
      "Add(2, 3)",
      "<hub 2 5",
      "<hub 1 5",
      "<server 5",
    ]);
    log.length = 0;
    await connection.stop();
    await host!.close();
    expect(log).toEqual(["server disconnected", "hub 1 disconnected", "hub 2 disconnected", "hub disconnected cleanly"]);
  });

  it("lets a filter see the caller, change the arguments and replace the result", async () => {
    const seen: string[] = [];
    const connection = await connect([
      {
        async invokeMethod(invocation, next) {
          seen.push(invocation.context.connectionId, String(invocation.hub instanceof FilteredHub));
          const doubled = invocation.arguments.map((a) => (a as number) * 2);
          return `result: ${String(await next({ ...invocation, arguments: doubled }))}`;
        },
      },
    ]);
    expect(await connection.connection.invoke("Add", 2, 3)).toBe("result: 10");
    expect(methodLog()).toEqual(["Add(4, 6)"]);
    expect(seen).toEqual([connection.connectionId, "true"]);
  });

  it("fails only the call when a filter refuses it, sending a HubException's text and hiding others", async () => {
    const connection = await connect([
      {
        // Synchronous throws and rejections alike fail the call without running the method.
        invokeMethod(invocation, next) {
          if (invocation.method.wireName === "Secret") throw new HubException("Not for you.");
          if (invocation.arguments[0] === 13) return Promise.reject(new Error("unlucky, with internals"));
          return next(invocation);
        },
      },
    ]);
    await expect(connection.hub.secret()).rejects.toThrow(
      "An unexpected error occurred invoking 'Secret' on the server. HubException: Not for you.",
    );
    const hidden = connection.hub.add(13, 1);
    await expect(hidden).rejects.toThrow("An unexpected error occurred invoking 'Add' on the server.");
    await expect(hidden).rejects.not.toThrow(/internals/);
    expect(await connection.hub.add(1, 1)).toBe(2);
    expect(methodLog()).toEqual(["Add(1, 1)"]);
  });

  it("lets a filter answer without calling the method", async () => {
    const cached = new Map<string, unknown>([["Secret", "from the cache"]]);
    const connection = await connect([
      { invokeMethod: (invocation, next) => (cached.has(invocation.method.wireName) ? cached.get(invocation.method.wireName) : next(invocation)) },
    ]);
    expect(await connection.hub.secret()).toBe("from the cache");
    expect(await connection.hub.add(1, 2)).toBe(3);
    expect(methodLog()).toEqual(["Add(1, 2)"]);
  });

  it("passes streams through: a streaming method's stream, and upload streams as arguments", async () => {
    const kinds: string[] = [];
    const connection = await connect([
      {
        async invokeMethod(invocation, next) {
          kinds.push(`${invocation.method.wireName}: ${invocation.method.streaming ? "streaming" : "call"}, ${invocation.method.uploadStreams.length} uploads`);
          return next(invocation);
        },
      },
    ]);
    const items: number[] = [];
    for await (const n of connection.hub.count(3)) items.push(n);
    expect(items).toEqual([1, 2, 3]);
    async function* numbers() {
      for (const n of [1, 2, 3, 4]) yield n;
    }
    const sum = connection.hub.sum(numbers());
    expect(await sum).toBe(10);
    expect(kinds).toEqual(["Count: streaming, 0 uploads", "Sum: call, 1 uploads"]);
  });

  it("closes the connection with an error when an onConnected filter throws", async () => {
    host = new TestHost({
      logger: silentLogger,
      filters: [
        {
          onConnected() {
            throw new HubException("Closed for maintenance.");
          },
        },
      ],
    });
    host.mapHub("/filtered", FilteredHub);
    // The Close may come before connect settles (it fails with it) or after (`closed` gets it).
    const error = await host.connect(FilteredHub).then((client) => client.closed, (failure: Error) => failure);
    expect(error?.message).toContain("HubException: Closed for maintenance.");
    expect(log).toEqual([]);
  });

  it("rejects a filter that has no filter method when the hub is mapped", () => {
    const hubs = new HubServer({ logger: silentLogger });
    expect(() => hubs.mapHub("/a", FilteredHub, { filters: [{} as HubFilter] })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION", message: expect.stringContaining("filters[0]") }),
    );
    expect(() => new HubServer({ logger: silentLogger, filters: [{ onConnected: () => undefined, invokeMethod: "no" } as unknown as HubFilter] }).mapHub("/b", FilteredHub)).toThrow(
      /filters\[0\]\.invokeMethod must be a function/,
    );
  });
});
