import { defineConfig } from "vitest/config";
import { longChecks } from "./vitest.config.js";

// `npm run test:long`: the checks that take minutes or a toolchain besides Node, so `npm test`
// leaves them out; CI (.ci/run) runs both and counts both. The bench harness run for real (a
// tiny configuration, one run under valgrind; no speed is asserted), and test/reference: the
// official .NET client against hubwire and ASP.NET Core SignalR itself (skipped, and said so,
// where `dotnet` is missing; failing under CI=true), and longChecks: server processes restarted
// in turn, samples under many clients.
export default defineConfig({
  // Hubs use TypeScript legacy decorators with emitted metadata, as in vitest.config.ts.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    include: ["test/bench/**/*.test.ts", "test/reference/**/*.test.ts", ...longChecks],
    globalSetup: ["test/support/build-dist.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // test/reference runs the interop suites with the pinned official client (see vitest.config.ts).
    provide: { officialClientVersion: "10.0.11" },
  },
});
