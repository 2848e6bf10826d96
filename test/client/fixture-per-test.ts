import { afterEach, beforeEach } from "vitest";
import { startInteropServer, type InteropServer } from "../../samples/interop-server/app.js";
import { silentLogger } from "../../src/index.js";

/** A fixture server for one test: one interop server, or several behind one URL (useFixtureServers). */
export type FixtureServers = InteropServer;

let start: () => Promise<FixtureServers> = () => startInteropServer(0, { logger: silentLogger });

/** The tests imported after this call run against what `starter` starts (a cluster of fixture servers). */
export function useFixtureServers(starter: () => Promise<FixtureServers>): void {
  start = starter;
}

export interface FixturePerTest {
  /** The server of the running test. */
  readonly server: FixtureServers;
  /** Stops `connection` when the test ends; returns it. */
  track<T extends { stop(): Promise<void> }>(connection: T): T;
}

/**
 * The interop fixture server for `hubwire/client` tests: a fresh one before each test, closed
 * after it together with every connection the test tracked.
 */
export function fixturePerTest(): FixturePerTest {
  let server: FixtureServers | undefined;
  const connections: Array<{ stop(): Promise<void> }> = [];
  beforeEach(async () => {
    server = await start();
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.stop()));
    await server?.close();
  });
  return {
    get server() {
      return server!;
    },
    track(connection) {
      connections.push(connection);
      return connection;
    },
  };
}
