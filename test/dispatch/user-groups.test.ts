import { afterEach, describe, expect, it } from "vitest";
import { silentLogger, type HubLifetimeManager } from "../../src/index.js";
import { InMemoryLifetimeManager } from "../../src/lifetime/in-memory-lifetime-manager.js";
import { TestHost } from "../../src/testing/index.js";
import { TeamHub } from "../support/team-hub.js";

// GroupManager.addUserToGroup and removeUserFromGroup: every connection a user has, in one call;
// ConnectionManager.ofUser and ofGroup: which connections a user and a group have.

describe("a user's connections: found, and joining and leaving a group together", () => {
  let host: TestHost;
  afterEach(() => host.close());

  function start(lifetimeManager?: HubLifetimeManager): void {
    host = new TestHost({ logger: silentLogger });
    host.mapHub("/team", TeamHub, lifetimeManager ? { lifetimeManager } : {});
  }

  const as = (sub: string) => host.connect(TeamHub, { user: { sub } });

  it("adds every connection of the user, and no one else's; removes them all together", async () => {
    start();
    const [ada1, ada2, bob] = [await as("ada"), await as("ada"), await as("bob")];
    await bob.hub.enrol("ada", "blue");
    await bob.hub.tell("blue", "welcome");
    expect(await ada1.next("news")).toEqual(["welcome"]);
    expect(await ada2.next("news")).toEqual(["welcome"]);

    await bob.hub.expel("ada", "blue");
    await bob.hub.join("blue");
    await bob.hub.tell("blue", "members only");
    expect(await bob.next("news")).toEqual(["members only"]);
    expect([ada1, ada2].map((client) => client.received.length)).toEqual([1, 1]);
  });

  it("names the connections a user has now, and none once they ended", async () => {
    start();
    const { connections } = host.hubContext(TeamHub);
    expect(await connections.ofUser("ada")).toEqual([]);
    const [ada1, ada2] = [await as("ada"), await as("ada"), await as("bob")];
    expect((await connections.ofUser("ada")).sort()).toEqual([ada1.connectionId, ada2.connectionId].sort());
    await ada1.stop();
    expect(await connections.ofUser("ada")).toEqual([ada2.connectionId]);
  });

  it("names a group's members now, and none once they left", async () => {
    start();
    const { connections } = host.hubContext(TeamHub);
    const [ada, bob] = [await as("ada"), await as("bob"), await as("cy")];
    await ada.hub.join("blue");
    await bob.hub.join("blue");
    expect((await connections.ofGroup("blue")).sort()).toEqual([ada.connectionId, bob.connectionId].sort());
    await bob.stop();
    expect(await connections.ofGroup("blue")).toEqual([ada.connectionId]);
    expect(await connections.ofGroup("red")).toEqual([]);
  });

  it("takes in no connection the user opens afterwards, and none of a user with no connections", async () => {
    start();
    const ada1 = await as("ada");
    await ada1.hub.enrol("ada", "blue");
    await ada1.hub.enrol("nobody", "blue");
    const ada2 = await as("ada");
    await ada1.hub.tell("blue", "first");
    expect(await ada1.next("news")).toEqual(["first"]);
    await ada2.hub.join("blue");
    await ada1.hub.tell("blue", "second");
    expect(await ada2.next("news")).toEqual(["second"]);
    expect(ada2.received.map((message) => message.args)).toEqual([["second"]]);
  });

  it("fails with the first connection's error, and adds the others all the same", async () => {
    start(new InMemoryLifetimeManager({ maximumGroupsPerConnection: 1 }));
    const [full, free] = [await as("ada"), await as("ada")];
    await full.hub.join("red");
    await expect(full.hub.enrol("ada", "blue")).rejects.toThrow("at most 1 groups");
    await full.hub.tell("blue", "hello");
    expect(await free.next("news")).toEqual(["hello"]);
    expect(full.received).toEqual([]);
  });

  it("refuses with ERR_CONNECTION_LOOKUP_NOT_SUPPORTED on a lifetime manager that cannot find a user's connections", async () => {
    const inner = new InMemoryLifetimeManager();
    const withoutUsers: HubLifetimeManager = {
      onConnected: (connection) => inner.onConnected(connection),
      onDisconnected: (connection) => inner.onDisconnected(connection),
      send: (target, method, args) => inner.send(target, method, args),
      addToGroup: (connectionId, group) => inner.addToGroup(connectionId, group),
      removeFromGroup: (connectionId, group) => inner.removeFromGroup(connectionId, group),
      invokeConnection: (connectionId, method, args, options) => inner.invokeConnection(connectionId, method, args, options),
    };
    start(withoutUsers);
    const context = host.hubContext(TeamHub);
    await expect(context.groups.addUserToGroup("ada", "blue")).rejects.toMatchObject({ code: "ERR_CONNECTION_LOOKUP_NOT_SUPPORTED" });
    await expect(context.groups.removeUserFromGroup("ada", "blue")).rejects.toMatchObject({ code: "ERR_CONNECTION_LOOKUP_NOT_SUPPORTED" });
    await expect(context.connections.ofUser("ada")).rejects.toMatchObject({ code: "ERR_CONNECTION_LOOKUP_NOT_SUPPORTED" });
    await expect(context.connections.ofGroup("blue")).rejects.toMatchObject({ code: "ERR_CONNECTION_LOOKUP_NOT_SUPPORTED" });
  });
});
