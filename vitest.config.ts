import { configDefaults, defineConfig } from "vitest/config";

// Files that use dist/ (built once by the global setup) while `npm run sample:interop` in
// built-code.test.ts builds it again: they run after the others, one at a time.
const usesDist = ["test/processes/**/*.test.ts", "test/package/**/*.test.ts", "test/docs/readme-figures.test.ts"];

// Checks that take tens of seconds (server processes restarted in turn, samples under many
// clients): in the long suite.
export const longChecks = ["test/processes/rolling-restart.test.ts", "test/processes/crash-recovery.test.ts", "test/load/**/*.test.ts"];

export default defineConfig({
  // Hubs use TypeScript legacy decorators with emitted metadata (typedi reads constructor types).
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    globalSetup: ["test/support/build-dist.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Two files at a time: most tests wait on sockets, timers and child processes, not the CPU.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "hubwire",
          include: ["test/**/*.test.ts"],
          provide: { officialClientVersion: "10.0.11" },
          // The long checks (bench harness, .NET reference runs, longChecks): `npm run test:long`
          // (vitest.long.config.ts).
          exclude: [...configDefaults.exclude, "test/bench/**", "test/reference/**", ...longChecks, ...usesDist],
        },
      },
      {
        extends: true,
        test: { name: "built", include: usesDist, exclude: [...configDefaults.exclude, ...longChecks], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        // The official client's own functional tests again, with its newest major version (the
        // others pin 10.0.11, as ASP.NET Core 10's recordings were made with it). Its MessagePack
        // protocol, which has no 11.x, is inlined so that it imports this client too.
        extends: true,
        resolve: { alias: [{ find: /^@microsoft\/signalr$/, replacement: "signalr-11" }] },
        test: {
          name: "signalr-11",
          include: ["test/interop/**/*.test.ts"],
          provide: { officialClientVersion: "11.0.0" },
          server: { deps: { inline: ["@microsoft/signalr-protocol-msgpack"] } },
        },
      },
    ],
  },
});
