import { defineConfig } from "vitest/config";

export default defineConfig({
  // Hubs use TypeScript legacy decorators with emitted metadata (typedi reads constructor types).
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/build-dist.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
