import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  // Hubs use TypeScript legacy decorators with emitted metadata (typedi reads constructor types).
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    include: ["test/**/*.test.ts"],
    // The long checks (bench harness, .NET reference runs): `npm run test:long` (vitest.long.config.ts).
    exclude: [...configDefaults.exclude, "test/bench/**", "test/reference/**"],
    globalSetup: ["test/support/build-dist.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
