import { afterEach, beforeEach } from "vitest";
import { startInteropServer, type InteropServer } from "../../samples/interop-server/app.js";
import { silentLogger } from "../../src/index.js";

export interface FixturePerTest {
  /** The server of the running test. */
  readonly server: InteropServer;
  /** Stops `connection` when the test ends; returns it. */
  track<T extends { stop(): Promise<void> }>(connection: T): T;
}

/**
 * The interop fixture server for `hubwire/client` tests: a fresh one before each test, closed
 * after it together with every connection the test tracked.
 */
export function fixturePerTest(): FixturePerTest {
  let server: InteropServer | undefined;
  const connections: Array<{ stop(): Promise<void> }> = [];
  beforeEach(async () => {
    server = await startInteropServer(0, { logger: silentLogger });
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
