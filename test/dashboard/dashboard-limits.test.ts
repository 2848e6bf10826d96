import { afterEach, describe, expect, it } from "vitest";
import type { HubConnection } from "../../client/index.js";
import { silentLogger, type HubServer, type HubServerOptions } from "../../src/index.js";
import type { DashboardView } from "../../src/dashboard/dashboard-hub.js";
import { eventually } from "../support/wait.js";
import { clientOf, dashboardServer } from "./dashboard-fixture.js";

describe("the dashboard's view of maximumConnections, maximumConnectionsPerUser and maximumInvocationsPerSecondPerClient", () => {
  let server: HubServer | undefined;
  const clients: HubConnection[] = [];

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    clients.length = 0;
    await server?.close();
  });

  /** The dashboard's server with `options`, its operator's client (ops), and `users` connected to /rooms. */
  async function start(options: HubServerOptions, users: string[] = []): Promise<{ url: string; ops: HubConnection }> {
    server = dashboardServer({ logger: silentLogger, ...options });
    const { url } = await server.listen();
    const ops = clientOf(url, "/hubwire/hub", "ops");
    const connected = users.map((user) => clientOf(url, "/rooms", user));
    clients.push(ops, ...connected);
    for (const client of [ops, ...connected]) await client.start();
    return { url, ops };
  }

  it("shows the server's bound and how many new connections it refused", async () => {
    const { url, ops } = await start({ maximumConnections: 2 }, ["ada"]);
    const own = async () => (await ops.invoke<DashboardView>("Snapshot")).servers[0]!;
    expect(await own()).toMatchObject({ maximumConnections: 2, refusedConnections: 0 });

    const grace = clientOf(url, "/rooms", "grace");
    await expect(grace.start()).rejects.toThrow(/503/);
    await expect(grace.start()).rejects.toThrow(/503/);
    // The view is made anew each interval (200 ms here).
    await eventually(async () => (await own()).refusedConnections, 2);
    expect((await own()).maximumConnections).toBe(2);
  });

  it("shows no bound where there is none", async () => {
    const { ops } = await start({ maximumConnections: null });
    const own = (await ops.invoke<DashboardView>("Snapshot")).servers[0]!;
    expect(own).toMatchObject({ maximumConnections: null, refusedConnections: 0 });
    expect(own.hubs.find((hub) => hub.path === "/rooms")).toMatchObject({ maximumConnectionsPerUser: null, maximumInvocationsPerSecondPerClient: null, heldBackInvocations: 0 });
  });

  it("shows each hub's maximumConnectionsPerUser and the connections it refused past it", async () => {
    const { url, ops } = await start({ maximumConnectionsPerUser: 1 }, ["ada"]);
    const rooms = async () => (await ops.invoke<DashboardView>("Snapshot")).servers[0]!.hubs.find((hub) => hub.path === "/rooms")!;
    expect(await rooms()).toMatchObject({ maximumConnectionsPerUser: 1, refusedUserConnections: 0 });

    const adaAgain = clientOf(url, "/rooms", "ada");
    await expect(adaAgain.start()).rejects.toThrow("Too many connections for this user.");
    await eventually(async () => (await rooms()).refusedUserConnections, 1);
  });

  it("shows each hub's maximumInvocationsPerSecondPerClient and the calls that waited for it", async () => {
    const { ops } = await start({ maximumInvocationsPerSecondPerClient: 5, invocationBurstPerClient: 1 }, ["ada"]);
    const rooms = async () => (await ops.invoke<DashboardView>("Snapshot")).servers[0]!.hubs.find((hub) => hub.path === "/rooms")!;
    expect(await rooms()).toMatchObject({ maximumInvocationsPerSecondPerClient: 5, heldBackInvocations: 0 });

    const ada = clients[1]!;
    // The first goes at once (the burst of one); the other two wait their turn.
    expect(await Promise.all(["a", "b", "c"].map((text) => ada.invoke("Say", "lobby", text)))).toEqual(["a", "b", "c"]);
    await eventually(async () => (await rooms()).heldBackInvocations, 2);
  });
});
