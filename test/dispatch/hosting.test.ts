import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";

@HubClass()
class PingHub extends Hub {
  @HubMethod("Ping")
  ping(): string {
    return "pong";
  }
}

async function listen(http: Server): Promise<string> {
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

describe("hosting", () => {
  let hubs: HubServer | undefined;
  let http: Server | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await client?.stop();
    await hubs?.close();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    http?.closeAllConnections();
  });

  async function call(url: string): Promise<unknown> {
    client = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None).build();
    await client.start();
    return client.invoke("Ping");
  }

  it("attaches to an existing HTTP server and leaves its other routes alone", async () => {
    http = createServer((_req, res) => res.end("the app's own page"));
    hubs = new HubServer({ logger: silentLogger });
    hubs.mapHub("/hubs/ping", PingHub);
    hubs.attach(http);
    const base = await listen(http);
    expect(await (await fetch(`${base}/`)).text()).toBe("the app's own page");
    expect(await call(`${base}/hubs/ping`)).toBe("pong");
  });

  it("serves requests and upgrades handed over by a framework", async () => {
    hubs = new HubServer({ logger: silentLogger });
    hubs.mapHub("/ping", PingHub);
    // What an Express or Fastify app does in its middleware and its server's upgrade event.
    http = createServer((req, res) => {
      if (!hubs!.handleRequest(req, res)) res.writeHead(418).end("framework route");
    });
    http.on("upgrade", (req, socket, head) => {
      if (!hubs!.handleUpgrade(req, socket, head)) socket.destroy();
    });
    const base = await listen(http);
    expect((await fetch(`${base}/other`)).status).toBe(418);
    expect(await call(`${base}/ping`)).toBe("pong");
  });

  it("rejects a second endpoint on one path and mapping after close", async () => {
    hubs = new HubServer({ logger: silentLogger });
    hubs.mapHub("/ping", PingHub);
    expect(() => hubs!.mapHub("/PING", PingHub)).toThrow(expect.objectContaining({ code: "ERR_PATH_IN_USE" }));
    expect(() => hubs!.mapHub("/other", PingHub, { keepAliveInterval: -1 })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_OPTION" }),
    );
    await hubs.close();
    expect(() => hubs!.mapHub("/late", PingHub)).toThrow(expect.objectContaining({ code: "ERR_SERVER_CLOSED" }));
  });
});
