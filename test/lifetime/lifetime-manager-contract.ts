import { afterEach, beforeEach, describe, expect, it as vitestIt } from "vitest";
import type { HubLifetimeManager } from "../../src/lifetime/hub-lifetime-manager.js";
import type { Target } from "../../src/lifetime/target.js";
import type { HubProtocol } from "../../src/protocol/hub-protocol.js";
import type { HubMessage } from "../../src/protocol/messages.js";
import { jsonHubProtocol } from "../../src/protocol/json-protocol.js";
import { loopbackConnection, type LoopbackConnection } from "../support/loopback-connection.js";
import { waitFor } from "../support/wait.js";

export interface LifetimeManagerFixture {
  create(options?: { maximumGroupsPerConnection?: number }): HubLifetimeManager | Promise<HubLifetimeManager>;
  dispose?(manager: HubLifetimeManager): Promise<void> | void;
  /** Waits until sends made so far have reached local connections (a backplane is asynchronous). */
  settle?(): Promise<void>;
  /**
   * Checks this manager knowingly fails, by title, each with its reason: each runs and must fail,
   * so an entry goes once the manager conforms.
   */
  differences?: Record<string, string>;
}

/** What a connection received, as [target, args] pairs of invocations. */
function calls(client: LoopbackConnection): Array<[string, unknown[]]> {
  return client
    .messages()
    .filter((m): m is Extract<HubMessage, { type: 1 }> => m.type === 1)
    .map((m) => [m.target, m.arguments]);
}

/**
 * The behaviour every HubLifetimeManager must have. Run it against each implementation:
 * `runLifetimeManagerContract("in-memory", { create: () => new InMemoryLifetimeManager() })`.
 */
export function runLifetimeManagerContract(name: string, fixture: LifetimeManagerFixture): void {
  describe(`HubLifetimeManager contract: ${name}`, () => {
    const it = (title: string, check: () => Promise<void>) => {
      const reason = fixture.differences?.[title];
      if (reason === undefined) vitestIt(title, check);
      else vitestIt(`${title}: differs, ${reason}`, async () => void (await expect(check()).rejects.toThrow()));
    };
    let manager: HubLifetimeManager;
    const settle = () => fixture.settle?.() ?? Promise.resolve();

    beforeEach(async () => {
      manager = await fixture.create();
    });
    afterEach(async () => {
      await fixture.dispose?.(manager);
    });

    async function connect(userId?: string): Promise<LoopbackConnection> {
      const client = loopbackConnection({ userId });
      await manager.onConnected(client.connection);
      return client;
    }

    it("refuses a join past maximumGroupsPerConnection with a LimitExceededError, and keeps the groups joined", async () => {
      await fixture.dispose?.(manager);
      manager = await fixture.create({ maximumGroupsPerConnection: 2 });
      const a = await connect();
      const id = a.connection.connectionId;
      await manager.addToGroup(id, "g1");
      await manager.addToGroup(id, "g2");
      await manager.addToGroup(id, "g1"); // already a member: no new group
      await expect(manager.addToGroup(id, "g3")).rejects.toMatchObject({
        name: "HubException",
        code: "ERR_TOO_MANY_GROUPS",
        message: "A connection may be in at most 2 groups.",
      });
      await manager.removeFromGroup(id, "g1");
      await manager.addToGroup(id, "g3");
      await manager.send({ kind: "groups", names: ["g1"] }, "left", []);
      await manager.send({ kind: "groups", names: ["g3"] }, "joined", []);
      await settle();
      expect(calls(a)).toEqual([["joined", []]]);
    });

    it("sends to all connections, each once, with the method and arguments", async () => {
      const [a, b] = [await connect(), await connect()];
      await manager.send({ kind: "all" }, "hello", ["world", 1]);
      await settle();
      expect(calls(a)).toEqual([["hello", ["world", 1]]]);
      expect(calls(b)).toEqual([["hello", ["world", 1]]]);
    });

    it("sends to all except the listed connections", async () => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      await manager.send({ kind: "all", except: [a.connection.connectionId, c.connection.connectionId] }, "m", []);
      await settle();
      expect([calls(a).length, calls(b).length, calls(c).length]).toEqual([0, 1, 0]);
    });

    it("sends to listed connections once each and ignores unknown ids", async () => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      const ids = [a.connection.connectionId, a.connection.connectionId, c.connection.connectionId, "nobody"];
      await manager.send({ kind: "connections", ids }, "m", []);
      await settle();
      expect([calls(a).length, calls(b).length, calls(c).length]).toEqual([1, 0, 1]);
    });

    it("sends to group members only, and stops after removal", async () => {
      const [a, b] = [await connect(), await connect()];
      await manager.addToGroup(a.connection.connectionId, "ops");
      await manager.send({ kind: "groups", names: ["ops"] }, "first", []);
      // Settled first: a manager may deliver its own members' sends once the backplane echoes them.
      await settle();
      await manager.removeFromGroup(a.connection.connectionId, "ops");
      await manager.send({ kind: "groups", names: ["ops"] }, "second", []);
      await settle();
      expect(calls(a)).toEqual([["first", []]]);
      expect(calls(b)).toEqual([]);
    });

    it("sends to several groups once per connection, honouring except", async () => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      for (const g of ["x", "y"]) {
        await manager.addToGroup(a.connection.connectionId, g);
        await manager.addToGroup(b.connection.connectionId, g);
      }
      await manager.addToGroup(c.connection.connectionId, "y");
      await manager.send({ kind: "groups", names: ["x", "y"], except: [b.connection.connectionId] }, "m", []);
      await settle();
      expect([calls(a).length, calls(b).length, calls(c).length]).toEqual([1, 0, 1]);
    });

    it("treats an unknown group as empty and an unknown connection's membership as a no-op", async () => {
      const a = await connect();
      await manager.addToGroup("nobody", "g");
      await manager.removeFromGroup("nobody", "g");
      await manager.removeFromGroup(a.connection.connectionId, "never-joined");
      await manager.send({ kind: "groups", names: ["g", "none"] }, "m", []);
      await settle();
      expect(calls(a)).toEqual([]);
    });

    it("closes the connections of a target, each sent its Close after the sends before it", async () => {
      const [a, b, c] = [await connect("ada"), await connect("ada"), await connect("bob")];
      await manager.send({ kind: "users", ids: ["ada"] }, "before", []);
      await manager.closeConnections!({ kind: "users", ids: ["ada"] }, { type: 7, error: "Signed out." });
      await manager.send({ kind: "all" }, "after", []);
      await settle();
      for (const closed of [a, b]) {
        expect(closed.messages()).toEqual([{ type: 1, target: "before", arguments: [] }, { type: 7, error: "Signed out." }]);
        expect(closed.connection.transport.isClosed).toBe(true);
      }
      expect(calls(c)).toEqual([["after", []]]);
      expect(c.connection.transport.isClosed).toBe(false);
    });

    it("sends to every connection of a user, and to several users", async () => {
      const [a1, a2, b, anon] = [await connect("alice"), await connect("alice"), await connect("bob"), await connect()];
      await manager.send({ kind: "users", ids: ["alice"] }, "one", []);
      await manager.send({ kind: "users", ids: ["alice", "bob", "carol"] }, "many", []);
      await settle();
      expect(calls(a1).map(([t]) => t)).toEqual(["one", "many"]);
      expect(calls(a2).map(([t]) => t)).toEqual(["one", "many"]);
      expect(calls(b).map(([t]) => t)).toEqual(["many"]);
      expect(calls(anon)).toEqual([]);
    });

    it("names every connection of a user and of a group, and none of a disconnected one", async () => {
      const [a1, a2, b] = [await connect("alice"), await connect("alice"), await connect("bob"), await connect()];
      const ids = async (target: Target) => (await manager.connectionsOf!(target)).sort();
      const users = (id: string): Target => ({ kind: "users", ids: [id] });
      const room: Target = { kind: "groups", names: ["room"] };
      expect(await ids(users("alice"))).toEqual([a1.connection.connectionId, a2.connection.connectionId].sort());
      expect(await ids(users("bob"))).toEqual([b.connection.connectionId]);
      expect(await ids(users("carol"))).toEqual([]);
      for (const member of [a1, b]) await manager.addToGroup(member.connection.connectionId, "room");
      expect(await ids(room)).toEqual([a1.connection.connectionId, b.connection.connectionId].sort());
      await manager.onDisconnected(a1.connection);
      expect(await ids(users("alice"))).toEqual([a2.connection.connectionId]);
      expect(await ids(room)).toEqual([b.connection.connectionId]);
    });

    it("forgets a disconnected connection everywhere: all, groups, user", async () => {
      const [a, b] = [await connect("alice"), await connect("bob")];
      await manager.addToGroup(a.connection.connectionId, "g");
      await manager.onDisconnected(a.connection);
      await manager.send({ kind: "all" }, "all", []);
      await manager.send({ kind: "groups", names: ["g"] }, "group", []);
      await manager.send({ kind: "users", ids: ["alice"] }, "user", []);
      await manager.send({ kind: "connections", ids: [a.connection.connectionId] }, "conn", []);
      await settle();
      expect(calls(a)).toEqual([]);
      expect(calls(b).map(([t]) => t)).toEqual(["all"]);
    });

    it("a closed connection among recipients fails neither the send nor the others", async () => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      b.connection.close();
      await expect(manager.send({ kind: "all" }, "m", [])).resolves.toBeUndefined();
      await settle();
      expect([calls(a).length, calls(c).length]).toEqual([1, 1]);
    });

    it("a socket that throws on send fails neither the send nor the others", async () => {
      const [a, b, c] = [await connect(), await connect(), await connect()];
      b.transport.failing = true;
      await expect(manager.send({ kind: "all" }, "m", [])).resolves.toBeUndefined();
      await manager.send({ kind: "all" }, "again", []);
      await settle();
      expect(calls(a).map(([t]) => t)).toEqual(["m", "again"]);
      expect(calls(c).map(([t]) => t)).toEqual(["m", "again"]);
      expect(b.transport.sent).toEqual([]);
    });

    it("encodes a broadcast once per protocol, not once per recipient", async () => {
      let writes = 0;
      const counting: HubProtocol = Object.assign(Object.create(jsonHubProtocol) as HubProtocol, {
        writeMessage: (m: HubMessage) => {
          writes++;
          return jsonHubProtocol.writeMessage(m);
        },
      });
      const clients: LoopbackConnection[] = [];
      for (let i = 0; i < 20; i++) {
        const client = loopbackConnection({ protocol: counting });
        await manager.onConnected(client.connection);
        clients.push(client);
      }
      await manager.send({ kind: "all" }, "m", ["payload"]);
      await settle();
      expect(writes).toBe(1);
      expect(clients.every((c) => c.transport.sent.length === 1)).toBe(true);
    });

    describe("client results", () => {
      /** The invocation the client was sent, once it has arrived. */
      async function sentInvocation(client: LoopbackConnection): Promise<Extract<HubMessage, { type: 1 }>> {
        const found = () => client.messages().find((m): m is Extract<HubMessage, { type: 1 }> => m.type === 1);
        const asked = async () => {
          await settle();
          return found() !== undefined;
        };
        await waitFor(asked, "the client to be asked");
        return found()!;
      }

      it("resolves with the client's answer, null and falsy values included", async () => {
        const client = await connect();
        for (const answer of [42, null, 0, false]) {
          client.transport.sent.length = 0;
          const result = manager.invokeConnection(client.connection.connectionId, "Result", ["q"]);
          const asked = await sentInvocation(client);
          expect([asked.target, asked.arguments, typeof asked.invocationId]).toEqual(["Result", ["q"], "string"]);
          client.connection.completeClientResult({ type: 3, invocationId: asked.invocationId!, hasResult: true, result: answer });
          await expect(result).resolves.toBe(answer);
        }
      });

      it("rejects with the client's error text as a HubException", async () => {
        const client = await connect();
        const result = manager.invokeConnection(client.connection.connectionId, "Result", []);
        const asked = await sentInvocation(client);
        client.connection.completeClientResult({ type: 3, invocationId: asked.invocationId!, hasResult: false, error: "Error: from callback" });
        await expect(result).rejects.toMatchObject({ name: "HubException", message: "Error: from callback" });
      });

      it("rejects for an unknown connection, a timeout, an aborted signal and a disconnect", async () => {
        await expect(manager.invokeConnection("nobody", "Result", [])).rejects.toMatchObject({ code: "ERR_CONNECTION_NOT_FOUND" });
        const client = await connect();
        const id = client.connection.connectionId;
        await expect(manager.invokeConnection(id, "Result", [], { timeout: 20 })).rejects.toMatchObject({ code: "ERR_CLIENT_RESULT_TIMEOUT" });
        const controller = new AbortController();
        const aborted = manager.invokeConnection(id, "Result", [], { signal: controller.signal });
        await sentInvocation(client);
        controller.abort(new Error("no longer needed"));
        await expect(aborted).rejects.toThrow("no longer needed");
        const pending = manager.invokeConnection(id, "Result", []);
        client.transport.sent.length = 0;
        await settle();
        client.connection.close();
        await expect(pending).rejects.toMatchObject({ code: "ERR_CONNECTION_CLOSED" });
      });
    });
  });
}
