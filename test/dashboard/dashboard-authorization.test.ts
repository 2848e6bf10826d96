import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubServer, silentLogger } from "../../src/index.js";
import { clientOf, dashboardServer, RoomHub } from "./dashboard-fixture.js";

describe("the dashboard's authorization", () => {
  let server: HubServer;
  let url: string;

  beforeAll(async () => {
    server = dashboardServer({ logger: silentLogger });
    ({ url } = await server.listen());
  });
  afterAll(() => server?.close());

  it("refuses an anonymous viewer (401) and a user the policy refuses (403)", async () => {
    await expect(clientOf(url, "/hubwire/hub").start()).rejects.toMatchObject({ statusCode: 401 });
    await expect(clientOf(url, "/hubwire/hub", "ada").start()).rejects.toMatchObject({ statusCode: 403 });
    const negotiate = await fetch(`${url}/hubwire/hub/negotiate?negotiateVersion=1`, { method: "POST" });
    expect(negotiate.status).toBe(401);
  });

  it("records the calls of hubs mapped before and after it", () => {
    expect(server.hubRuntimeAt("/rooms")!.filters.invoke).toBeDefined();
    const late = dashboardServer({ logger: silentLogger });
    late.mapHub("/late", RoomHub);
    expect(late.hubRuntimeAt("/late")!.filters.invoke).toBeDefined();
    return late.close();
  });

  it("serves a user the policy accepts", async () => {
    const viewer = clientOf(url, "/hubwire/hub", "ops");
    await viewer.start();
    const view = (await viewer.invoke("Snapshot")) as { servers: Array<{ hubs: Array<{ name: string }> }> };
    expect(view.servers[0]!.hubs.map((h) => h.name)).toEqual(["RoomHub"]);
    await viewer.stop();
  });

  it("serves a page that holds no figure", async () => {
    const page = await (await fetch(`${url}/hubwire`)).text();
    expect(page).toContain("<title>hubwire</title>");
    expect(page).not.toContain("RoomHub");
    expect((await fetch(`${url}/hubwire/hubwire-client.min.js`)).headers.get("content-type")).toMatch(/javascript/);
  });

  it("takes the name of one of the server's policies, and needs one", async () => {
    const named = new HubServer({ logger: silentLogger, authenticate: (_r, token) => token ?? null, policies: { ops: (user) => user === "ops" } });
    named.mapHub("/rooms", RoomHub);
    named.mapDashboard("/ops", { authorize: "ops" });
    const { url: namedUrl } = await named.listen();
    try {
      await expect(clientOf(namedUrl, "/ops/hub", "ada").start()).rejects.toMatchObject({ statusCode: 403 });
      const viewer = clientOf(namedUrl, "/ops/hub", "ops");
      await viewer.start();
      await viewer.stop();
    } finally {
      await named.close();
    }
    const other = new HubServer({ logger: silentLogger });
    expect(() => other.mapDashboard("/ops", {} as never)).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
    expect(() => other.mapDashboard("/ops", { authorize: "missing" })).toThrow(expect.objectContaining({ code: "ERR_UNKNOWN_POLICY" }));
    expect(() => other.mapDashboard("/ops", { authorize: () => true, interval: 0 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
    expect(() => other.mapDashboard("/ops", { authorize: () => true, limits: { topGroups: -1 } })).toThrow(/limits\.topGroups/);
    await other.close();
  });
});

describe("a server without a dashboard", () => {
  it("calls its hubs' methods without a filter, and serves nothing at a dashboard's paths", async () => {
    const server = new HubServer({ logger: silentLogger });
    server.mapHub("/rooms", RoomHub);
    expect(server.hubRuntimeAt("/rooms")!.filters.invoke).toBeUndefined();
    const { url } = await server.listen();
    try {
      expect((await fetch(`${url}/hubwire`)).status).toBe(404);
      expect((await fetch(`${url}/hubwire/hub/negotiate?negotiateVersion=1`, { method: "POST" })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
