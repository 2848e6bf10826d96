import { createRequire } from "node:module";
import { HubwireError } from "./errors.js";

/**
 * Packages only an optional part of hubwire runs, so a server-only install does not pull them
 * (they are optional peer dependencies): what needs each, and the command that installs it.
 */
const optionalPackages = {
  typescript6: { neededBy: "hubwire codegen (it reads hubs with the TypeScript 6 compiler API)", install: "npm install --save-dev typescript6@npm:typescript@^6.0.3" },
  ioredis: { neededBy: "hubwire/redis", install: "npm install ioredis" },
  "@opentelemetry/api": { neededBy: "hubwire's metrics and traces", install: "npm install @opentelemetry/api" },
} as const;

export type OptionalPackage = keyof typeof optionalPackages;

// Resolved from hubwire's own place in node_modules, where npm puts peer dependencies beside it.
const require = createRequire(import.meta.url);

/**
 * Loads a CommonJS package of an optional part when that part is first used. A missing package
 * is an `ERR_OPTIONAL_DEPENDENCY_MISSING` naming it and the install command.
 */
export function requireOptional<T>(name: OptionalPackage): T {
  try {
    return require(name) as T;
  } catch (error) {
    throw asMissingDependency(name, error);
  }
}

/**
 * Loads an optional package that hubwire uses only when it is there (OpenTelemetry): undefined
 * when it is not installed, any other failure thrown.
 */
export function requireIfInstalled<T>(name: OptionalPackage): T | undefined {
  try {
    return require(name) as T;
  } catch (error) {
    if (asMissingDependency(name, error) !== error) return undefined;
    throw error;
  }
}

/**
 * `error` as `ERR_OPTIONAL_DEPENDENCY_MISSING` when it says `name` itself cannot be found (by
 * `require` or `import`); any other error (a broken package, a missing file of its own) as is.
 */
export function asMissingDependency(name: OptionalPackage, error: unknown): unknown {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const notFound = code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND";
  if (!notFound || typeof message !== "string" || !message.includes(`'${name}'`)) return error;
  const { neededBy, install } = optionalPackages[name];
  return new HubwireError("ERR_OPTIONAL_DEPENDENCY_MISSING", `${neededBy} needs the package '${name}', which is not installed. Install it with: ${install}`);
}
