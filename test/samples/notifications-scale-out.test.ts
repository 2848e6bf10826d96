import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubConnection } from "../../client/index.js";
import { startNotificationServer, type NotificationServer } from "../../samples/notifications/app.js";
import type { Notification } from "../../samples/notifications/notification-types.js";
import { notificationHub } from "../../samples/notifications/web/generated/notification-hub.client.js";
import { silentLogger } from "../../src/index.js";
import { redisUrl } from "../support/redis.js";
import { startRoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { eventually } from "../support/wait.js";

/** A user's connection to one instance, with what it has received. */
interface Session {
  hub: ReturnType<typeof notificationHub>;
  received: string[];
  unread: number[];
}

describe("the notification sample on two instances sharing Redis", () => {
  let prefix: string;
  let instances: NotificationServer[];
  const connections: HubConnection[] = [];
  beforeEach(async () => {
    // A prefix of its own: keys and channels of other tests (and runs) stay apart.
    prefix = `test-notifications-${randomUUID()}`;
    instances = await Promise.all([0, 1].map(() => startNotificationServer({ port: 0, logger: silentLogger, redis: { url: redisUrl, prefix } })));
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.stop()));
    await Promise.all(instances.map((instance) => instance.close()));
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const token = async (instance: NotificationServer, name: string, admin = false) => {
    const response = await fetch(`${instance.url}/api/login`, { method: "POST", body: JSON.stringify({ name, admin }) });
    return ((await response.json()) as { token: string }).token;
  };

  async function publish(instance: NotificationServer, kind: string, target: string, title: string): Promise<number> {
    const response = await fetch(`${instance.url}/api/notify`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await token(instance, "ops", true)}` },
      body: JSON.stringify({ kind, target, title }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { recipients: number }).recipients;
  }

  async function connect(instance: NotificationServer, name: string): Promise<Session> {
    const connection = new HubConnection(`${instance.url}/hubs/notifications`, { accessTokenFactory: () => token(instance, name), reconnect: false });
    connections.push(connection);
    const hub = notificationHub(connection);
    const session: Session = { hub, received: [], unread: [] };
    hub.on({
      notify: (notification: Notification) => void session.received.push(notification.title),
      unreadChanged: (count) => void session.unread.push(count),
    });
    await connection.start();
    return session;
  }

  it("delivers across instances and shows every instance the same notifications and unread counts", async () => {
    const [a, b] = instances as [NotificationServer, NotificationServer];
    const aliceOnA = await connect(a, "alice");
    const bobOnB = await connect(b, "bob");
    await bobOnB.hub.subscribe("incidents");

    expect(await publish(a, "personal", "alice", "For alice")).toBe(1);
    expect(await publish(a, "topic", "incidents", "Failover")).toBe(1); // bob's subscription was made on b
    expect(await publish(b, "announcement", "", "Maintenance")).toBe(2);
    await eventually(() => aliceOnA.received, ["For alice", "Maintenance"]);
    await eventually(() => bobOnB.received, ["Failover", "Maintenance"]);
    await eventually(() => aliceOnA.unread, [1, 2]);

    // alice's second tab, on the other instance, sees what her first one does.
    const aliceOnB = await connect(b, "alice");
    const state = await aliceOnB.hub.getState();
    expect(state.notifications.map((n) => n.title)).toEqual(["Maintenance", "For alice"]);
    expect(state.unread).toBe(2);

    // Subscribing on b puts both of her connections in the topic's group, the one on a too.
    await aliceOnB.hub.subscribe("releases");
    expect(await publish(b, "topic", "releases", "v2.0")).toBe(1);
    await eventually(() => aliceOnA.received, ["For alice", "Maintenance", "v2.0"]);
    await eventually(() => aliceOnB.received, ["v2.0"]);

    // Marking all read on b tells her tab on a.
    await aliceOnB.hub.markAllRead();
    await eventually(() => aliceOnA.unread.at(-1), 0);
    expect((await aliceOnA.hub.getState()).unread).toBe(0);
    expect((await bobOnB.hub.getState()).unread).toBe(2);
  });

  it("moves a page's connection to the other instance when its instance drains for a deploy: nothing lost, no new connection", async () => {
    const proxy = await startRoundRobinProxy(instances.map((instance) => instance.url));
    try {
      const login = await token(instances[0]!, "bob");
      const connection = new HubConnection(`${proxy.url}/hubs/notifications`, { accessTokenFactory: () => login, statefulReconnect: true, transports: ["WebSockets"] });
      connections.push(connection);
      let restarts = 0;
      connection.onReconnecting(() => restarts++);
      const hub = notificationHub(connection);
      const received: string[] = [];
      hub.on({ notify: (notification: Notification) => void received.push(notification.title), unreadChanged: () => {} });
      await connection.start();
      await hub.subscribe("incidents");

      const holder = instances.findIndex((instance) => instance.hubs.connectionCount === 1);
      const other = instances[1 - holder]!;
      expect(await publish(other, "topic", "incidents", "before")).toBe(1);
      await instances[holder]!.drain();
      expect(await publish(other, "topic", "incidents", "after")).toBe(1);
      await eventually(() => received, ["before", "after"]);
      expect(other.hubs.connectionCount).toBe(1);
      expect(restarts).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
