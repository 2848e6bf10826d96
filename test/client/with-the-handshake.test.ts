import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubConnection, silentLogger, type HubClientError, type TransportKind } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger as serverLogger } from "../../src/index.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { within } from "../support/wait.js";

// What a hub sends from onConnected leaves the server right behind the handshake's answer, often
// in the same frame or read: the client handles it once it is connected.

let greetingFails = false;

@HubClass()
class GreetingHub extends Hub<{ hello(text: string): void }> {
  override async onConnected(): Promise<void> {
    if (greetingFails) throw new Error("no greeting today");
    await this.clients.caller.hello("welcome");
  }

  @HubMethod("Poke")
  async poke(n: number): Promise<void> {
    await this.clients.caller.hello(`poke ${n}`);
  }

  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }
}

let server: HubServer;
let url: string;
let proxy: TcpProxy | undefined;
const stops: Array<{ stop(): Promise<void> }> = [];

beforeEach(async () => {
  greetingFails = false;
  server = new HubServer({ logger: serverLogger });
  server.mapHub("/greeting", GreetingHub, { allowStatefulReconnects: true });
  server.mapMultiplexer("/hubs");
  ({ url } = await server.listen(0));
});

afterEach(async () => {
  await Promise.all(stops.splice(0).map((connection) => connection.stop()));
  await proxy?.close();
  proxy = undefined;
  await server.close();
});

/** The reply to the first `hello` handler's call of the server, made as the handler runs. */
function answerToWelcome(connection: HubConnection): Promise<unknown> {
  return new Promise((resolve) => {
    connection.on("hello", (text: string) => {
      if (text === "welcome") connection.invoke("Echo", `${connection.state}: echoed`).then(resolve, resolve);
    });
  });
}

describe.each(["WebSockets", "ServerSentEvents", "LongPolling"] as TransportKind[])("over %s", (transport) => {
  it("runs a handler of what onConnected sent as a connected connection's: it may call the server", async () => {
    const connection = new HubConnection(`${url}/greeting`, { transports: [transport], logger: silentLogger });
    stops.push(connection);
    const answer = answerToWelcome(connection);
    await connection.start();
    expect(await within(answer, "the handler's call")).toBe("Connected: echoed");
  });

  it("does so for a hub on a shared connection too", async () => {
    const hubs = new HubMultiplexer(`${url}/hubs`, { transports: [transport], logger: silentLogger });
    stops.push(hubs);
    const connection = hubs.hub("/greeting");
    const answer = answerToWelcome(connection);
    await connection.start();
    expect(await within(answer, "the handler's call")).toBe("Connected: echoed");
  });
});

it("counts what onConnected sent toward stateful reconnect's acknowledgements: after a drop it is not handled again", async () => {
  proxy = await startTcpProxy(Number(new URL(url).port));
  const connection = new HubConnection(`${proxy.url}/greeting`, { transports: ["WebSockets"], logger: silentLogger, statefulReconnect: true });
  stops.push(connection);
  const heard: string[] = [];
  let pokeHeard: () => void = () => {};
  connection.on("hello", (text: string) => {
    heard.push(text);
    if (text.startsWith("poke")) pokeHeard();
  });
  await connection.start();
  await within(new Promise<void>((resolve) => ((pokeHeard = resolve), void connection.send("Poke", 1))), "the first poke");
  // Neither message was acknowledged yet: the server sends both again on the new socket.
  proxy.cut();
  await connection.invoke("Poke", 2);
  expect(heard).toEqual(["welcome", "poke 1", "poke 2"]);
});

describe("a hub whose onConnected throws", () => {
  it("fails start() with the server's reason, and no attempt follows", async () => {
    greetingFails = true;
    const connection = new HubConnection(`${url}/greeting`, { transports: ["WebSockets"], logger: silentLogger });
    stops.push(connection);
    let retries = 0;
    connection.onRetrying(() => retries++);
    const error = (await connection.start().catch((e: unknown) => e)) as HubClientError;
    expect([error.code, error.message]).toEqual(["ERR_CLOSED_BY_SERVER", "Server returned an error on close: Connection closed with an error."]);
    expect(connection.state).toBe("Disconnected");
    expect(retries).toBe(0);
  });

  it("ends a reconnect with the server's reason: the connection closes, and a call held meanwhile fails", async () => {
    proxy = await startTcpProxy(Number(new URL(url).port));
    const connection = new HubConnection(`${proxy.url}/greeting`, { transports: ["WebSockets"], logger: silentLogger, reconnect: { nextDelay: () => 0 } });
    stops.push(connection);
    await connection.start();
    const closed = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    const reconnecting = new Promise<void>((resolve) => connection.onReconnecting(() => resolve()));
    greetingFails = true;
    proxy.cut();
    await within(reconnecting, "the reconnect to begin");
    const held = connection.invoke("Echo", "held").catch((e: unknown) => e);
    expect((await within(closed, "the connection to close"))?.message).toBe("Server returned an error on close: Connection closed with an error.");
    expect(connection.state).toBe("Disconnected");
    expect(await within(held, "the held call to fail")).toBeInstanceOf(Error);
  });
});
