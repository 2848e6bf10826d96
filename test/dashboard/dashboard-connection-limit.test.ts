import { afterEach, describe, expect, it } from "vitest";
import type { HubConnection } from "../../client/index.js";
import { silentLogger, type HubServer } from "../../src/index.js";
import type { DashboardView } from "../../src/dashboard/dashboard-hub.js";
import { eventually } from "../support/wait.js";
import { clientOf, dashboardServer } from "./dashboard-fixture.js";

describe("the dashboard's view of maximumConnections and maximumConnectionsPerUser", () => {
  let server: HubServer | undefined;
  const clients: HubConnection[] = [];

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    clients.length = 0;
    await server?.close();
  });

  it("shows the server's bound and how many new connections it refused", async () => {
    server = dashboardServer({ logger: silentLogger, maximumConnections: 2 });
    const { url } = await server.listen();
    const ops = clientOf(url, "/hubwire/hub", "ops");
    const ada = clientOf(url, "/rooms", "ada");
    clients.push(ops, ada);
    await ops.start();
    await ada.start();
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
    server = dashboardServer({ logger: silentLogger, maximumConnections: null });
    const { url } = await server.listen();
    const ops = clientOf(url, "/hubwire/hub", "ops");
    clients.push(ops);
    await ops.start();
    expect((await ops.invoke<DashboardView>("Snapshot")).servers[0]).toMatchObject({ maximumConnections: null, refusedConnections: 0 });
  });

  it("shows each hub's maximumConnectionsPerUser and the connections it refused past it", async () => {
    server = dashboardServer({ logger: silentLogger, maximumConnectionsPerUser: 1 });
    const { url } = await server.listen();
    const ops = clientOf(url, "/hubwire/hub", "ops");
    const ada = clientOf(url, "/rooms", "ada");
    clients.push(ops, ada);
    await ops.start();
    await ada.start();
    const rooms = async () => (await ops.invoke<DashboardView>("Snapshot")).servers[0]!.hubs.find((hub) => hub.path === "/rooms")!;
    expect(await rooms()).toMatchObject({ maximumConnectionsPerUser: 1, refusedUserConnections: 0 });

    const adaAgain = clientOf(url, "/rooms", "ada");
    await expect(adaAgain.start()).rejects.toThrow("Too many connections for this user.");
    await eventually(async () => (await rooms()).refusedUserConnections, 1);
  });
});
