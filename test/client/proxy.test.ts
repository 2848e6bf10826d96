import { describe, expect, it } from "vitest";
import { createHubProxy, HubConnection, registerHandlers } from "../../client/index.js";
import { fixturePerTest } from "./fixture-per-test.js";
import type { InteropClient, InteropHub } from "../../samples/interop-server/interop-hub.js";
import type { TestClient, TestHub } from "../../samples/interop-server/test-hub.js";

describe("typed proxies at run time", () => {
  const fixture = fixturePerTest();
  let connection: HubConnection;

  it("calls, streams and fires-and-forgets through a hub's class type", async () => {
    connection = fixture.track(new HubConnection(`${fixture.server.url}/testhub`, { reconnect: false }));
    await connection.start();
    const hub = createHubProxy<TestHub>(connection, { stream: { name: "Stream", stream: true } });
    const messages: string[] = [];
    const remove = registerHandlers<TestClient>(connection, { Message: (text) => void messages.push(text) });
    expect(await hub.echo("typed")).toBe("typed");
    const items: string[] = [];
    for await (const item of hub.stream()) items.push(item);
    expect(items).toEqual(["a", "b", "c"]);
    await hub.send.invokeWithString("pushed");
    await hub.invokeWithString("and awaited");
    expect(messages).toEqual(["pushed", "and awaited"]);
    remove();
  });

  it("registers handlers that answer client results", async () => {
    connection = fixture.track(new HubConnection(`${fixture.server.url}/interophub`, { reconnect: false }));
    await connection.start();
    registerHandlers<InteropClient>(connection, { Result: async () => 11 });
    const hub = createHubProxy<InteropHub>(connection);
    expect(await hub.askCaller()).toBe(11);
    expect(await hub.add(2, 3)).toBe(5);
  });
});

// Compile-time checks: each line below must fail to type-check (the suite's tsc run enforces it).
export function typeChecks(hub: ReturnType<typeof createHubProxy<InteropHub>>, connection: HubConnection): void {
  // @ts-expect-error a wrong argument type
  void hub.add("2", 3);
  // @ts-expect-error a missing argument
  void hub.add(2);
  // @ts-expect-error a misspelled method
  void hub.ad(2, 3);
  // @ts-expect-error the result is a number, not a string
  const wrong: Promise<string> = hub.add(1, 2);
  void wrong;
  // @ts-expect-error a handler with the wrong signature
  registerHandlers<InteropClient>(connection, { Received: (route: number) => void route });

  // A hub method named send is no call on a proxy: `send` holds the fire-and-forget forms.
  const chat = createHubProxy<{ send(room: string, text: string): Promise<void>; join(room: string): Promise<void> }>(connection);
  // @ts-expect-error send is not the hub's send
  void chat.send("lobby", "hi");
  void chat.send.send("lobby", "hi");
  void chat.join("lobby");
}
