import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, silentLogger, type HubCallerContext, type HubFilter } from "../../src/index.js";
import { TestHost } from "../../src/testing/index.js";

// A hub's context is made when a hub or a filter first reads it (an idle connection whose hub
// never does holds none): it must still be one object for the connection's whole life.

const seen: Array<{ when: string; context: HubCallerContext }> = [];

@HubClass()
class ContextHub extends Hub {
  override onConnected(): void {
    seen.push({ when: "connected", context: this.context });
    this.context.items.set("greeting", "hello");
  }

  override onDisconnected(): void {
    seen.push({ when: "disconnected", context: this.context });
  }

  @HubMethod("Look")
  look(): string {
    seen.push({ when: "call", context: this.context });
    return `${String(this.context.items.get("greeting"))} ${this.context.connectionId}`;
  }
}

/** A hub that never reads its context: its filters do. */
@HubClass()
class QuietHub extends Hub {
  @HubMethod("Ping")
  ping(): string {
    return "pong";
  }
}

let host: TestHost | undefined;
afterEach(async () => {
  await host?.close();
  seen.length = 0;
});

describe("a hub's caller context", () => {
  it("is the same object in onConnected, in every call and in onDisconnected", async () => {
    host = new TestHost({ logger: silentLogger });
    host.mapHub("/context", ContextHub);
    const client = await host.connect(ContextHub);
    expect(await client.hub.look()).toBe(`hello ${client.connectionId}`);
    expect(await client.hub.look()).toBe(`hello ${client.connectionId}`);
    await client.stop();
    expect(seen.map((s) => s.when)).toEqual(["connected", "call", "call", "disconnected"]);
    for (const { context } of seen) expect(context).toBe(seen[0]!.context);
    expect(seen[0]!.context.connectionId).toBe(client.connectionId);
  });

  it("reaches the lifetime filters, through a filter that passes on a copy of what it was given", async () => {
    const read: string[] = [];
    const copying: HubFilter = {
      onConnected: (context, next) => next({ ...context }),
      onDisconnected: (context, error, next) => next({ ...context }, error),
    };
    const reading: HubFilter = {
      onConnected(context, next) {
        read.push(`connected ${context.context.connectionId}`);
        return next(context);
      },
      onDisconnected(context, error, next) {
        read.push(`disconnected ${context.context.connectionId}`);
        return next(context, error);
      },
      invokeMethod(invocation, next) {
        read.push(`call ${invocation.context.connectionId}`);
        return next(invocation);
      },
    };
    host = new TestHost({ logger: silentLogger });
    host.mapHub("/quiet", QuietHub, { filters: [copying, reading] });
    const client = await host.connect(QuietHub);
    expect(await client.hub.ping()).toBe("pong");
    await client.stop();
    const id = client.connectionId;
    expect(read).toEqual([`connected ${id}`, `call ${id}`, `disconnected ${id}`]);
  });
});
