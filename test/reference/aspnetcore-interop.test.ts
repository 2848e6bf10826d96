import { afterAll, beforeAll, describe } from "vitest";
import { useFixtureTarget, type FixtureServer } from "../interop/fixture.js";
import { buildProject, dotnetMissingFor, projects, startReferenceServer, type ReferenceServer } from "./dotnet.mjs";

// The official-client interop suites, run unchanged against ASP.NET Core SignalR hosting the same
// fixture (test/reference/aspnetcore): what they expect of hubwire must hold for the real thing.

const missing = dotnetMissingFor("the ASP.NET Core reference tests");

/** One reference server process for the whole file; a test that shuts it down gets a new one after. */
let running: ReferenceServer | undefined;
const closed = new WeakSet<FixtureServer>();

useFixtureTarget({
  kind: "aspnetcore",
  async acquire() {
    if (!running || running.process.exitCode !== null || running.process.signalCode !== null) running = await startReferenceServer();
    const server = running;
    const fixture: FixtureServer = {
      url: server.url,
      async close() {
        closed.add(fixture);
        await server.stop();
      },
    };
    return fixture;
  },
  async release() {},
});

describe.skipIf(missing)(`the interop suites against ASP.NET Core SignalR${missing ? ` (skipped: ${missing})` : ""}`, async () => {
  beforeAll(() => buildProject(projects.aspnetcore), 600_000);
  afterAll(() => running?.stop());
  await import("../interop/test-hub.test.js");
  await import("../interop/interop-hub.test.js");
});
