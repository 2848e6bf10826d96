import { afterEach, describe, expect, it } from "vitest";
import { HubConnection } from "../../client/index.js";
import { silentLogger, type HubServer } from "../../src/index.js";
import type { DashboardView } from "../../src/dashboard/dashboard-hub.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";
import { clientOf, dashboardServer } from "./dashboard-fixture.js";

describe("the dashboard's count of connections waiting for their client", () => {
  let server: HubServer | undefined;
  let proxy: TcpProxy | undefined;
  const clients: HubConnection[] = [];

  afterEach(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    clients.length = 0;
    await proxy?.close();
    await server?.close();
  });

  it("counts a stateful connection whose socket dropped until its client is back", async () => {
    server = dashboardServer({ logger: silentLogger, allowStatefulReconnects: true });
    const { url } = await server.listen();
    proxy = await startTcpProxy(Number(new URL(url).port));
    const ops = clientOf(url, "/hubwire/hub", "ops");
    const ada = new HubConnection(`${proxy.url}/rooms`, { transports: ["WebSockets"], statefulReconnect: true, accessTokenFactory: () => "ada", logger: silentLogger });
    clients.push(ops, ada);
    await Promise.all([ops.start(), ada.start()]);
    const rooms = async () => (await ops.invoke<DashboardView>("Snapshot")).servers[0]!.hubs.find((hub) => hub.path === "/rooms")!;
    expect(await rooms()).toMatchObject({ connections: 1, waiting: 0 });
    const id = ada.connectionId;

    proxy.refuse(true); // its reconnects fail until the test allows them
    proxy.cut();
    await waitFor(async () => (await rooms()).waiting === 1, "the dashboard to count the connection waiting");
    expect((await rooms()).connections).toBe(1);

    proxy.refuse(false);
    await waitFor(async () => (await rooms()).waiting === 0, "the connection to be back");
    await ada.invoke("Join", "kitchen");
    expect(ada.connectionId).toBe(id);
    expect(await rooms()).toMatchObject({ connections: 1, waiting: 0 });
  });
});
