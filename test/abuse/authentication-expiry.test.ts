import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { HubConnection as HubwireConnection, silentLogger } from "../../client/index.js";
import type { HubServer } from "../../src/index.js";
import { reach, within } from "../support/wait.js";
import { expectCanaryAnswered, startCanary } from "./canary-beside.js";
import { disconnects, endGuardedTest, guardedLog, resetGuardedLog, startGuardedServer, token } from "./guarded-hub.js";

// Long enough for a client to connect and make one call on a loaded machine: each token is made
// when the client asks for it, so this counts from the request that carries it.
const lifetimeMs = 2500;

describe.each([
  ["WebSockets", HttpTransportType.WebSockets],
  ["long polling", HttpTransportType.LongPolling],
])("a token that expires while connected, over %s", (_name, transport) => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await endGuardedTest(client, server);
    client = server = undefined;
  });

  async function connectAdmin(options: { closeOnAuthenticationExpiration?: boolean } = {}, reconnects = false) {
    let url: string;
    ({ server, url } = await startGuardedServer({}, options));
    const canary = await startCanary(url);
    let expiresAt = 0;
    const admin = () => token("root", { role: "admin", expiresAt: (expiresAt = Date.now() + lifetimeMs) });
    const builder = new HubConnectionBuilder().withUrl(url, { transport, accessTokenFactory: admin }).configureLogging(LogLevel.None);
    client = (reconnects ? builder.withAutomaticReconnect([0]) : builder).build();
    const closed = new Promise<Error | undefined>((resolve) => client!.onclose(resolve));
    await client.start();
    // The expiry of the token the connection started with (the WebSocket's, or the one long polling keeps).
    return { client, closed, expiresAt, canary };
  }

  it("closes the connection when the authentication expires, asking its client to come back, as ASP.NET Core does", async () => {
    const { client, closed, expiresAt, canary } = await connectAdmin();
    expect(await client.invoke("Restart")).toBe("restarted");
    // A Close with allowReconnect and no error: a client without automatic reconnect just closes.
    const error = await closed;
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(error).toBeUndefined();
    await expect(client.invoke("Restart")).rejects.toThrow();
    await disconnects(1);
    expect(guardedLog.calls).toEqual(["restart root"]);
    expect(guardedLog.disconnects.map((e) => (e as { code?: string } | undefined)?.code)).toEqual(["ERR_AUTHENTICATION_EXPIRED"]);
    expect(server!.connectionCount).toBe(1); // the canary's
    await expectCanaryAnswered(canary);
  });

  it("brings a client with automatic reconnect back on a new connection, with a fresh token", async () => {
    const { client, expiresAt, canary } = await connectAdmin({}, true);
    const before = client.connectionId;
    const reconnected = new Promise<string | undefined>((resolve) => client.onreconnected(resolve));
    const after = await within(reconnected, "the client to reconnect after its token's expiry");
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(after).not.toBe(before);
    expect(await client.invoke("Restart")).toBe("restarted");
    await disconnects(1);
    expect(guardedLog.disconnects.map((e) => (e as { code?: string } | undefined)?.code)).toEqual(["ERR_AUTHENTICATION_EXPIRED"]);
    await expectCanaryAnswered(canary);
  });

  it("refuses @Authorize calls after the expiry when the connection is kept open", async () => {
    const { client, expiresAt, canary } = await connectAdmin({ closeOnAuthenticationExpiration: false });
    expect(await client.invoke("Restart")).toBe("restarted");
    await reach(expiresAt);
    // WebSockets: the call arrives and is refused. Long polling: its POST carries the expired token and is refused (401).
    await expect(client.invoke("Restart")).rejects.toThrow(
      transport === HttpTransportType.WebSockets ? "Failed to invoke 'Restart' because user is unauthorized" : "Unauthorized",
    );
    if (transport === HttpTransportType.WebSockets) {
      // The hub itself requires a user: its other methods are refused too, and the connection stays.
      await expect(client.invoke("Whoami")).rejects.toThrow("Failed to invoke 'Whoami' because user is unauthorized");
      expect(client.state).toBe(HubConnectionState.Connected);
    }
    expect(guardedLog.calls).toEqual(["restart root"]);
    await expectCanaryAnswered(canary);
  });
});

describe("a long-polling client that sends a fresh token with each request (hubwire's client does)", () => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    resetGuardedLog();
  });

  /** Connects with `first`, then makes every later request carry `fresh`; a call brings it now. */
  async function refreshTo(first: string, fresh: () => string) {
    let url: string;
    ({ server, url } = await startGuardedServer());
    const canary = await startCanary(url);
    let current = first;
    const client = new HubwireConnection(url, {
      transports: ["LongPolling"],
      accessTokenFactory: () => current,
      reconnect: false,
      logger: silentLogger, // the close it reports is what the test waits for
    });
    const closed = new Promise<Error | undefined>((resolve) => client.onClose(resolve));
    await client.start();
    current = fresh();
    expect(await client.invoke("Whoami")).toBe("root"); // its send carries the fresh token
    return { client, closed, canary };
  }

  it.each([
    ["where none was known", () => token("root", { role: "admin" })],
    ["earlier than the first", () => token("root", { role: "admin", expiresAt: Date.now() + 60_000 })],
  ])("closes the connection at an expiry a fresh token brings %s", async (_case, first) => {
    let expiresAt = 0;
    const { client, closed, canary } = await refreshTo(first(), () => token("root", { role: "admin", expiresAt: (expiresAt = Date.now() + lifetimeMs) }));
    try {
      const error = await within(closed, "the connection to close at the fresh token's expiry");
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
      expect(error).toBeUndefined(); // told to come back, which it does not do by itself here
      await disconnects(1);
      expect(guardedLog.disconnects.map((e) => (e as { code?: string } | undefined)?.code)).toEqual(["ERR_AUTHENTICATION_EXPIRED"]);
      await expectCanaryAnswered(canary);
    } finally {
      await client.stop();
    }
  });

  it("keeps its connection past the first token's expiry: the fresh token's expiry replaces it", async () => {
    let url: string;
    ({ server, url } = await startGuardedServer());
    const canary = await startCanary(url);
    const firstExpiry = Date.now() + lifetimeMs;
    let current = token("root", { role: "admin", expiresAt: firstExpiry });
    const client = new HubwireConnection(url, { transports: ["LongPolling"], accessTokenFactory: () => current, reconnect: false });
    let closed = false;
    client.onClose(() => (closed = true));
    await client.start();
    try {
      current = token("root", { role: "admin", expiresAt: Date.now() + 60_000 });
      expect(await client.invoke("Whoami")).toBe("root"); // its send carries the fresh token
      await reach(firstExpiry);
      expect(await client.invoke("Restart")).toBe("restarted");
      expect(closed).toBe(false);
      expect(guardedLog.calls).toEqual(["whoami root", "restart root"]);
      await expectCanaryAnswered(canary);
    } finally {
      await client.stop();
    }
  });
});
