import { afterEach, describe, expect, it } from "vitest";
import { HubConnection, type TransportKind } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { HubServer, silentLogger } from "../../src/index.js";
import { adminPolicy, authenticateTestToken, guardedLog, GuardedHub, resetGuardedLog, token } from "../abuse/guarded-hub.js";
import { reach } from "../support/wait.js";

// Long enough for a client to connect and make a call on a loaded machine (2.5 s was not, once,
// with many test files at once); each token's expiry counts from when the client asks for it.
const lifetimeMs = 4000;

// Over WebSockets a token comes only with the upgrade; long polls and sends bring a token each.
describe.each(["LongPolling", "ServerSentEvents"] as TransportKind[])("a token refreshed on a multiplexed %s connection", (transport) => {
  let server: HubServer | undefined;
  let hubs: HubMultiplexer | undefined;
  afterEach(async () => {
    await hubs?.stop();
    await server?.close();
    hubs = server = undefined;
    resetGuardedLog();
  });

  /** A multiplexer whose requests carry `current()` as their token, and an @Authorize hub opened on it. */
  async function openGuarded(current: () => string): Promise<{ guarded: HubConnection; closed: () => boolean }> {
    server = new HubServer({ logger: silentLogger, policies: adminPolicy, closeTimeout: 200 });
    server.mapHub("/guarded", GuardedHub, { authenticate: authenticateTestToken });
    server.mapMultiplexer("/hubs");
    const { url } = await server.listen();
    hubs = new HubMultiplexer(`${url}/hubs`, { transports: [transport], accessTokenFactory: current, reconnect: false });
    const guarded = hubs.hub("/guarded");
    let closed = false;
    guarded.onClose(() => (closed = true));
    await guarded.start();
    return { guarded, closed: () => closed };
  }

  it("keeps a hub open past the first token's expiry: the fresh token's expiry replaces it", async () => {
    const firstExpiry = Date.now() + lifetimeMs;
    let current = token("root", { role: "admin", expiresAt: firstExpiry });
    const { guarded, closed } = await openGuarded(() => current);
    current = token("root", { role: "admin", expiresAt: Date.now() + 60_000 });
    expect(await guarded.invoke("Whoami")).toBe("root"); // its send carries the fresh token
    await reach(firstExpiry);
    expect(await guarded.invoke("Restart")).toBe("restarted");
    expect(closed()).toBe(false);
    expect(guardedLog.calls).toEqual(["whoami root", "restart root"]);
  });

  it("admits a hub opened after the first token expired with the fresh token", async () => {
    const firstExpiry = Date.now() + lifetimeMs;
    let current = token("root", { role: "admin", expiresAt: firstExpiry });
    const { guarded } = await openGuarded(() => current);
    current = token("root", { role: "admin", expiresAt: Date.now() + 60_000 });
    expect(await guarded.invoke("Whoami")).toBe("root");
    await reach(firstExpiry);
    const later = hubs!.hub("/guarded");
    await later.start();
    expect(await later.invoke("Restart")).toBe("restarted");
    expect(guardedLog.connected).toEqual(["root", "root"]);
  });

  it("refuses a request with another user's token, as a plain connection's endpoint does", async () => {
    let current = token("root", { role: "admin", expiresAt: Date.now() + lifetimeMs });
    const { guarded } = await openGuarded(() => current);
    current = token("mallory", { role: "admin", expiresAt: Date.now() + 60_000 });
    await expect(guarded.invoke("Whoami")).rejects.toThrow(/403/);
  });
});
