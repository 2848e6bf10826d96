import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubConnection } from "../../client/index.js";
import { startNotificationServer, type NotificationServer } from "../../samples/notifications/app.js";
import { notificationHub } from "../../samples/notifications/web/generated/notification-hub.client.js";
import { silentLogger } from "../../src/index.js";

describe("the notification sample's API", () => {
  let server: NotificationServer;
  const connections: HubConnection[] = [];
  beforeEach(async () => {
    server = await startNotificationServer({ port: 0, logger: silentLogger });
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.stop()));
    await server.close();
  });

  const login = async (name: unknown, admin = false) =>
    fetch(`${server.url}/api/login`, { method: "POST", body: JSON.stringify({ name, admin }) });
  const token = async (name: string, admin = false) => ((await (await login(name, admin)).json()) as { token: string }).token;
  const notify = (body: string, auth?: string) =>
    fetch(`${server.url}/api/notify`, { method: "POST", body, headers: auth ? { Authorization: `Bearer ${auth}` } : {} });

  async function connect(name: string, admin = false) {
    const connection = new HubConnection(`${server.url}/hubs/notifications`, { accessTokenFactory: () => token(name, admin), reconnect: false });
    connections.push(connection);
    await connection.start();
    return { connection, hub: notificationHub(connection) };
  }

  it("refuses bad sign-ins, tokens, roles and bodies with a clear 4xx", async () => {
    expect((await login("")).status).toBe(400);
    expect((await login("x".repeat(40))).status).toBe(400);
    expect((await notify(`{"kind":"announcement","title":"t"}`)).status).toBe(401);
    expect((await notify(`{"kind":"announcement","title":"t"}`, "forged.token")).status).toBe(401);
    expect((await notify(`{"kind":"announcement","title":"t"}`, await token("bob"))).status).toBe(403);
    const admin = await token("root", true);
    expect(await (await notify("not json", admin)).json()).toEqual({ error: "A JSON body {kind, target, title, body} is required." });
    expect((await notify(`{"kind":"topic","target":"nope","title":"t"}`, admin)).status).toBe(400);
    expect((await notify(`{"kind":"announcement","title":""}`, admin)).status).toBe(400);
    expect((await fetch(`${server.url}/api/notify`)).status).toBe(405);
    expect((await fetch(`${server.url}/../../package.json`)).status).toBe(404);
    // Still serving.
    expect((await notify(`{"kind":"announcement","title":"still here"}`, admin)).status).toBe(200);
  });

  it("refuses the hub to anonymous users, and publishing to non-admins", async () => {
    const anonymous = new HubConnection(`${server.url}/hubs/notifications`, { reconnect: false });
    await expect(anonymous.start()).rejects.toThrow("Status code '401'");
    const { hub } = await connect("bob");
    await expect(hub.publish({ kind: "announcement", title: "x" })).rejects.toThrow("Failed to invoke 'Publish' because user is unauthorized");
    await expect(hub.subscribe("no-such-topic")).rejects.toThrow("HubException: Unknown topic 'no-such-topic'.");
  });

  it("gives a late joiner the recent notifications of its topics, and counts unread per user", async () => {
    const admin = await token("root", true);
    await notify(`{"kind":"topic","target":"releases","title":"v1"}`, admin);
    await notify(`{"kind":"topic","target":"releases","title":"v2"}`, admin);
    const { hub } = await connect("carol");
    expect((await hub.subscribe("releases")).map((n) => n.title)).toEqual(["v2", "v1"]);
    const unread: number[] = [];
    hub.on({ unreadChanged: (count) => void unread.push(count) });
    await notify(`{"kind":"topic","target":"releases","title":"v3"}`, admin);
    await notify(`{"kind":"personal","target":"carol","title":"hi"}`, admin);
    const state = await hub.getState();
    expect(state.notifications.map((n) => n.title)).toEqual(["hi", "v3", "v2", "v1"]);
    expect(state.unread).toBe(2);
    await hub.markAllRead();
    expect((await hub.getState()).unread).toBe(0);
    expect(unread).toEqual([1, 2, 0]);
  });

  it("mounts hubwire's dashboard for admins only, showing the notification hub", async () => {
    const viewer = (name: string, admin: boolean) =>
      new HubConnection(`${server.url}/hubwire/hub`, { accessTokenFactory: () => token(name, admin), reconnect: false });
    await expect(viewer("eve", false).start()).rejects.toMatchObject({ statusCode: 403 });
    await connect("ada");
    const ops = viewer("ops", true);
    connections.push(ops);
    await ops.start();
    const view = (await ops.invoke("Snapshot")) as { servers: Array<{ hubs: Array<{ name: string; users: number }> }> };
    expect(view.servers[0]!.hubs).toMatchObject([{ name: "NotificationHub", users: 1 }]);
    expect((await fetch(`${server.url}/hubwire`)).headers.get("content-type")).toMatch(/text\/html/);
  });

  it("serves hubwire's metrics in the Prometheus text format on /metrics", async () => {
    const { hub } = await connect("carol");
    await hub.getState();
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain("# TYPE signalr_server_active_connections gauge");
    expect(text).toMatch(/^signalr_server_active_connections\{signalr_transport="web_sockets",otel_scope_name="hubwire"\} 1$/m);
    expect(text).toMatch(/^hubwire_server_invocation_duration_count\{rpc_service="NotificationHub",rpc_method="GetState",hubwire_invocation_outcome="ok",otel_scope_name="hubwire"\} 1$/m);
  });
});
