import { Container, Inject, Service } from "typedi";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, silentLogger } from "../../src/index.js";
import { TestHost } from "../../src/testing/index.js";
import type { HubConnection } from "../../client/index.js";

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

  /** Whether the previous call ran on this very hub object. */
  @HubMethod("SameHubAsBefore")
  sameHubAsBefore(): boolean {
    const same = lastCountingHub === this;
    lastCountingHub = this;
    return same;
  }
}

let lastCountingHub: CountingHub | undefined;

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
  // In process: how hubs are made is the hub stack's business, not the network's.
  let host: TestHost | undefined;
  afterEach(async () => {
    await host?.close();
  });

  async function connect(container?: { get<T>(type: new (...args: any[]) => T): T }, hub: typeof CountingHub | typeof PropertyInjectedHub | typeof PlainHub = CountingHub): Promise<HubConnection> {
    host = new TestHost({ logger: silentLogger, ...(container ? { container } : {}) });
    host.mapHub<Hub>("/counting", hub);
    return (await host.connect<Hub>("/counting")).connection;
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

  it("makes a hub anew for every call from a container the application supplies too", async () => {
    const scoped = Container.of("dependency-injection-fresh-hubs");
    scoped.set(Counter, new Counter());
    host = new TestHost({ logger: silentLogger, container: scoped });
    host.mapHub<Hub>("/counting", PlainHub);
    host.mapHub<Hub>("/counting-injected", CountingHub);
    const plain = (await host.connect<Hub>("/counting")).connection;
    expect(await plain.invoke("Calls")).toBe(1);
    expect(await plain.invoke("Calls")).toBe(1);
    // typedi's scoped containers keep the first instance of a service registered globally: a hub
    // shared by calls would show each call another connection's context after an await.
    const injected = (await host.connect<Hub>("/counting-injected")).connection;
    expect(await injected.invoke("SameHubAsBefore")).toBe(false);
    expect(await injected.invoke("SameHubAsBefore")).toBe(false);
  });
});
