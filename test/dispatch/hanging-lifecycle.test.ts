import { afterEach, describe, expect, it } from "vitest";
import { officialClients } from "../support/official-clients.js";
import type { HubConnection } from "../../src/connection/hub-connection.js";
import { Hub, HubClass, HubMethod, HubServer, InMemoryLifetimeManager, type LogFields } from "../../src/index.js";
import { dispatchLog } from "../../src/dispatch/dispatch-log.js";
import { waitFor, within } from "../support/wait.js";

// An onConnected or onDisconnected that never settles is the application's bug: it must cost its
// own connection, never the server's shutdown.

/** Which lifecycle method hangs, for connections that ask with ?hang. */
let hangIn: "onConnected" | "onDisconnected" = "onConnected";
const began: string[] = [];
const disconnected: string[] = [];
const never = new Promise<void>(() => {});
/** What a hanging onConnected waits for: `never` unless a test lets it end. */
let hang = never;

/** Tells which connections the lifetime manager was told to forget. */
class WatchedLifetimeManager extends InMemoryLifetimeManager {
  readonly forgotten: string[] = [];

  override async onDisconnected(connection: HubConnection): Promise<void> {
    this.forgotten.push(connection.connectionId);
    await super.onDisconnected(connection);
  }
}

@HubClass()
class LifecycleHub extends Hub {
  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }

  override onConnected(): Promise<void> | void {
    began.push(this.context.connectionId);
    if (hangIn === "onConnected" && this.context.request.query.has("hang")) {
      return this.groups.addToGroup(this.context.connectionId, "hangers").then(() => hang);
    }
  }

  override onDisconnected(): Promise<void> | void {
    disconnected.push(this.context.connectionId);
    if (hangIn === "onDisconnected" && this.context.request.query.has("hang")) return never;
  }
}

describe("a lifecycle method that never settles", () => {
  const errors: Array<{ message: string; fields?: LogFields }> = [];
  let server: HubServer | undefined;
  const { connect, stopAll } = officialClients();

  afterEach(async () => {
    await stopAll();
    await server?.close();
    server = undefined;
    errors.length = 0;
    began.length = 0;
    disconnected.length = 0;
    hang = never;
  });

  async function start(lifetimeManager = new WatchedLifetimeManager()): Promise<string> {
    server = new HubServer({
      logger: { debug() {}, info() {}, warn() {}, error: (message, fields) => void errors.push({ message, fields }) },
      closeTimeout: 100,
    });
    server.mapHub("/lifecycle", LifecycleHub, { lifetimeManager });
    const { url } = await server.listen(0, "127.0.0.1");
    return `${url}/lifecycle`;
  }


  it.each(["onConnected", "onDisconnected"] as const)("in %s does not keep server.close() waiting, and is logged", async (where) => {
    hangIn = where;
    const url = await start();
    const hanging = await connect(`${url}?hang=1`);
    const hangingId = hanging.connectionId!;
    const other = await connect(url);
    const otherId = other.connectionId!;
    expect(await other.invoke("Echo", "fine")).toBe("fine");
    await waitFor(() => began.includes(hangingId), "the hanging connection's onConnected to begin");

    // Twice closeTimeout: the connections' close, then their hubs' code.
    await within(server!.close(), "server.close()", 5_000);
    server = undefined;
    expect(disconnected).toContain(otherId);
    const left = errors.filter((e) => e.message === dispatchLog.closeLeftRunning.message);
    expect(left.map((e) => e.fields)).toEqual([
      { hub: "LifecycleHub", waitedMs: 200, connections: 1, running: [{ connectionId: hangingId, waitingFor: where }] },
    ]);
  });

  it("in onConnected does not keep its closed connection in the lifetime manager; onDisconnected follows if it ends", async () => {
    hangIn = "onConnected";
    let release!: () => void;
    hang = new Promise<void>((resolve) => (release = resolve));
    const lifetime = new WatchedLifetimeManager();
    const url = await start(lifetime);
    const hanging = await connect(`${url}?hang=1`);
    const hangingId = hanging.connectionId!;
    await waitFor(() => lifetime.hasGroup("hangers"), "the hanging connection to join its group");
    await hanging.stop();

    // closeTimeout (100 ms) after its close, the manager forgets it and the group it had joined.
    await waitFor(() => lifetime.forgotten.includes(hangingId), "the lifetime manager to forget the connection");
    expect(errors.map((e) => e.fields)).toEqual([{ hub: "LifecycleHub", connectionId: hangingId, waitedMs: 100 }]);
    expect(errors[0]!.message).toBe(dispatchLog.onConnectedOutlived.message);
    expect(lifetime.has(hangingId)).toBe(false);
    expect(lifetime.hasGroup("hangers")).toBe(false);
    expect(disconnected).toEqual([]);

    // Its onConnected ends after all: its onDisconnected runs, and the manager is not told twice.
    release();
    await waitFor(() => disconnected.includes(hangingId), "the hub's onDisconnected");
    expect(lifetime.forgotten.filter((id) => id === hangingId)).toHaveLength(1);
  });
});
