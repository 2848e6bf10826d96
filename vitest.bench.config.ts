import { defineConfig } from "vitest/config";

// `npm run test:bench`: the bench harness run for real, on a tiny configuration and under
// valgrind. No speed is asserted, but each run takes most of a minute, so `npm test` leaves them
// out; CI (.ci/run) runs both and counts both.
export default defineConfig({
  test: {
    include: ["test/bench/**/*.test.ts"],
    globalSetup: ["test/support/build-dist.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
