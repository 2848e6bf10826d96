import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  // Hubs use TypeScript legacy decorators with emitted metadata (typedi reads constructor types).
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    include: ["test/**/*.test.ts"],
    // The benchmark smoke runs take minutes: `npm run test:bench` (vitest.bench.config.ts) runs them.
    exclude: [...configDefaults.exclude, "test/bench/**"],
    globalSetup: ["test/support/build-dist.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
