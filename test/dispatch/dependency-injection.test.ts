import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { Container, Inject, Service } from "typedi";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";

@Service()
class Counter {
  private count = 0;
  next(): number {
    return ++this.count;
  }
}

@HubClass()
class CountingHub extends Hub {
  constructor(private readonly counter: Counter) {
    super();
  }

  @HubMethod("Next")
  next(): number {
    return this.counter.next();
  }

  @HubMethod("SameInstance")
  sameInstance(): boolean {
    return this.counter === Container.get(Counter);
  }
}

@HubClass()
class PropertyInjectedHub extends Hub {
  @Inject()
  private readonly counter!: Counter;

  @HubMethod("Next")
  next(): number {
    return this.counter.next();
  }
}

@HubClass()
class PlainHub extends Hub {
  private calls = 0;

  @HubMethod("Calls")
  countCalls(): number {
    return ++this.calls;
  }
}

describe("dependency injection", () => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await client?.stop();
    await server?.close();
  });

  async function connect(container?: { get<T>(type: new (...args: any[]) => T): T }, hub: typeof CountingHub | typeof PropertyInjectedHub | typeof PlainHub = CountingHub): Promise<HubConnection> {
    server = new HubServer({ logger: silentLogger, ...(container ? { container } : {}) });
    server.mapHub<Hub>("/counting", hub);
    const { url } = await server.listen();
    client = new HubConnectionBuilder().withUrl(`${url}/counting`).configureLogging(LogLevel.None).build();
    await client.start();
    return client;
  }

  it("injects a hub's constructor dependencies from typedi, a new hub per call", async () => {
    const connection = await connect();
    const first = await connection.invoke<number>("Next");
    expect(await connection.invoke("Next")).toBe(first + 1);
    expect(await connection.invoke("SameInstance")).toBe(true);
  });

  it("injects properties marked with @Inject", async () => {
    const connection = await connect(undefined, PropertyInjectedHub);
    const first = await connection.invoke<number>("Next");
    expect(await connection.invoke("Next")).toBe(first + 1);
  });

  it("makes a hub without dependencies anew for every call", async () => {
    const connection = await connect(undefined, PlainHub);
    expect(await connection.invoke("Calls")).toBe(1);
    expect(await connection.invoke("Calls")).toBe(1);
  });

  it("uses a container the application supplies", async () => {
    const scoped = Container.of("dependency-injection-test");
    const counter = new Counter();
    scoped.set(Counter, counter);
    const connection = await connect(scoped);
    expect(await connection.invoke("Next")).toBe(1);
    expect(await connection.invoke("Next")).toBe(2);
    expect(counter.next()).toBe(3);
  });
});
