import { execFile, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../browser/chromium.js";
import { within } from "../support/wait.js";
import { redisUrl } from "../support/redis.js";

// hubwire as a user gets it: the tarball `npm pack` makes of the built dist/ (built once before
// the tests, so --ignore-scripts: packing must not rebuild what other tests are reading),
// installed into a new ESM project outside this repository, so only the package's own files and
// its dependencies can be found. One install serves every step.

const root = fileURLToPath(new URL("../..", import.meta.url));
const repoPackage = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};
const readme = readFileSync(join(root, "README.md"), "utf8");
const run = promisify(execFile);

/** The environment of a user's shell: nothing from this repository's npm run or node_modules. */
const userEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env)
    .filter(([name]) => !name.toLowerCase().startsWith("npm_") && name !== "NODE_OPTIONS" && name !== "VITEST" && name !== "INIT_CWD")
    .map(([name, value]) => [name, name === "PATH" ? value?.split(delimiter).filter((dir) => !dir.startsWith(root)).join(delimiter) : value]),
);

let tmp: string;
let project: string;
let packed: string[];
let server: ChildProcess | undefined;
let serverUrl: string;
let browser: Browser | undefined;

function inProject(command: string, args: string[], timeout = 120_000) {
  return run(command, args, { cwd: project, env: userEnv, timeout, maxBuffer: 16 * 1024 * 1024 });
}

/** `npm install` from the registry this machine has, reusing the npm cache. */
function npmInstall(...specs: string[]) {
  return inProject("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...specs], 240_000);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "hubwire-package-"));
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: root, timeout: 60_000 });
  const [pack] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = pack!.files.map((file) => file.path);
  project = join(tmp, "project");
  cpSync(join(root, "test/package/project"), project, { recursive: true });
  // The new project's tsconfig.json is the README's, so the README's setup is the one tested.
  writeFileSync(join(project, "tsconfig.json"), readmeBlock("A new project", "json"));
  const dev = repoPackage.devDependencies;
  await npmInstall(join(tmp, pack!.filename), `@microsoft/signalr@${dev["@microsoft/signalr"]}`, `@types/node@${dev["@types/node"]}`);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once("exit", resolve));
    server.kill("SIGTERM");
    await within(exited, "the installed server to exit", 10_000).catch(() => server!.kill("SIGKILL"));
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 30_000);

/** The first fenced block of `language` in the README section `heading`. */
function readmeBlock(heading: string, language: string): string {
  const section = readme.split(/^## /m).find((part) => part.startsWith(`${heading}\n`));
  const block = section && new RegExp("```" + language + "\\n([\\s\\S]*?)```").exec(section);
  if (!block) throw new Error(`README has no ${language} block under "## ${heading}"`);
  return block[1]!;
}

describe("the published package", () => {
  it("holds every file exports and bin name, a LICENSE, and no source maps", () => {
    const targets = Object.values(repoPackage.exports).flatMap((target) => (typeof target === "string" ? [target] : Object.values(target)));
    for (const target of [...targets, ...Object.values(repoPackage.bin)]) expect(packed).toContain(target.replace(/^\.\//, ""));
    expect(packed).toContain("LICENSE");
    expect(packed.filter((file) => file.endsWith(".map"))).toEqual([]);
    expect(packed.filter((file) => !/^(dist\/(src|client|browser)\/|LICENSE$|README\.md$|package\.json$)/.test(file))).toEqual([]);
  });

  it("installs for a server without typescript6, ioredis or @opentelemetry/api; every entry point imports; optional parts say what to install", async () => {
    expect(existsSync(join(project, "node_modules/typescript6"))).toBe(false);
    expect(existsSync(join(project, "node_modules/ioredis"))).toBe(false);
    expect(existsSync(join(project, "node_modules/@opentelemetry/api"))).toBe(false);
    expect(readdirSync(join(project, "node_modules/hubwire/dist"))).toEqual(["browser", "client", "src"]);

    const { stdout } = await inProject("node", ["check-entry-points.mjs"]);
    const { loaded, redis, server: started } = JSON.parse(stdout) as { loaded: Record<string, string[]>; redis: { code: string; message: string }; server: string };
    expect(started).toBe("ran");
    expect(Object.keys(loaded)).toEqual(Object.keys(repoPackage.exports).map((key) => `hubwire${key.slice(1)}`));
    expect(loaded.hubwire).toEqual(expect.arrayContaining(["HubServer", "Hub", "HubClass", "HubMethod", "HubwireError"]));
    expect(loaded["hubwire/protocol"]).toEqual(expect.arrayContaining(["JsonHubProtocol", "MessagePackHubProtocol"]));
    expect(loaded["hubwire/redis"]).toEqual(["AspNetCoreRedisBackplane", "RedisBackplane"]);
    expect(loaded["hubwire/cluster"]).toEqual(["ClusterBackplane"]);
    expect(loaded["hubwire/testing"]).toEqual(expect.arrayContaining(["TestClient", "TestHost", "withSignal"]));
    expect(loaded["hubwire/client"]).toEqual(expect.arrayContaining(["HubConnection", "createHubProxy", "registerHandlers"]));
    expect(loaded["hubwire/client/browser"]).toEqual(loaded["hubwire/client"]);
    expect(loaded["hubwire/client/msgpack"]).toEqual(expect.arrayContaining(["messagePack"]));
    expect(loaded["hubwire/client/browser/msgpack"]).toEqual(loaded["hubwire/client/msgpack"]);
    expect(loaded["hubwire/client/browser/multiplex"]).toEqual([...loaded["hubwire/client"]!, ...loaded["hubwire/client/multiplex"]!].sort());
    // The one entry point that is nothing but its optional peer: an application imports it only
    // with @opentelemetry/api installed (hubwire's server looks for the package, and goes on without).
    expect(loaded["hubwire/client/opentelemetry"]).toEqual({ code: "ERR_MODULE_NOT_FOUND", message: expect.stringContaining("'@opentelemetry/api'") });
    expect(redis).toEqual({ code: "ERR_OPTIONAL_DEPENDENCY_MISSING", message: expect.stringContaining("Install it with: npm install ioredis") });

    const codegen = await inProject("npx", ["--no", "hubwire", "codegen", "src/chat-hub.ts", "--out", "src/generated"]).then(
      () => ({ stderr: "it ran" }),
      (error: { stderr: string }) => error,
    );
    expect(codegen.stderr).toContain("ERR_OPTIONAL_DEPENDENCY_MISSING");
    expect(codegen.stderr).toContain("npm install --save-dev typescript6@npm:typescript@^6.0.3");
  }, 60_000);

  it("with its optional peers installed, generates a typed client with `npx hubwire codegen`, and tsc compiles the project against the package", async () => {
    const dev = repoPackage.devDependencies;
    await npmInstall(`typescript6@${dev.typescript6}`, `ioredis@${dev.ioredis}`, `@opentelemetry/api@${dev["@opentelemetry/api"]}`);
    expect((await inProject("node", ["check-redis.mjs", redisUrl])).stdout.trim()).toBe("pong");
    const traceContext = await inProject("node", ["--input-type=module", "-e", 'console.log(Object.keys(await import("hubwire/client/opentelemetry")).join())']);
    expect(traceContext.stdout.trim()).toBe("traceContext");
    const { stdout } = await inProject("npx", ["--no", "hubwire", "codegen", "src/chat-hub.ts", "--out", "src/generated"]);
    expect(stdout).toContain("wrote src/generated/chat-hub.client.ts");
    expect(readFileSync(join(project, "src/generated/chat-hub.client.ts"), "utf8")).toContain('from "hubwire/client"');
    // The README's hub compiles as written, beside the project's own files.
    writeFileSync(join(project, "src/readme-hub.ts"), readmeBlock("A hub in 20 lines", "ts"));
    // The TypeScript a new project installs (this repository's, TypeScript 7), with the README's
    // tsconfig.json; it resolves every import from the project, where only the package is.
    await inProject(join(root, "node_modules/.bin/tsc"), ["-p", "."]).catch((error: { stdout: string }) => {
      throw new Error(`tsc failed:\n${error.stdout}`);
    });
    expect(existsSync(join(project, "dist/generated/chat-hub.client.js"))).toBe(true);
    // Again with the strictest checks a project may turn on: the package's declarations (no
    // skipLibCheck) and the generated client compile under them too.
    const strict = ["--exactOptionalPropertyTypes", "--noUncheckedIndexedAccess", "--noUnusedLocals", "--noUnusedParameters", "--noImplicitOverride"];
    await inProject(join(root, "node_modules/.bin/tsc"), ["-p", ".", "--noEmit", ...strict]).catch((error: { stdout: string }) => {
      throw new Error(`tsc with ${strict.join(" ")} failed:\n${error.stdout}`);
    });
  }, 300_000);

  it("runs the project's hub in process with hubwire/testing, no server listening", async () => {
    expect(existsSync(join(project, "dist/in-process.js")), "the project compiled by the previous test").toBe(true);
    const { stdout } = await inProject("node", ["dist/in-process.js"]);
    expect(JSON.parse(stdout)).toEqual({ greeting: "hello ann", from: "server", text: "hi" });
  }, 60_000);

  it("runs a hub server from the package that hubwire/client (JSON and MessagePack) and @microsoft/signalr call", async () => {
    server = spawn("node", ["dist/server.js"], { cwd: project, env: userEnv, stdio: ["ignore", "pipe", "inherit"] });
    serverUrl = await within(
      new Promise<string>((resolve, reject) => {
        let output = "";
        server!.stdout!.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const match = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(output);
          if (match) resolve(match[1]!);
        });
        server!.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
      }),
      "the installed server to print its URL",
      30_000,
    );
    const hubwireClient = JSON.parse((await inProject("node", ["dist/client.js", serverUrl])).stdout);
    expect(hubwireClient).toEqual({
      json: { greeting: "hello ann", echoed: "hi", bytesAreBytes: false },
      messagepack: { greeting: "hello ann", echoed: "hi", bytesAreBytes: true },
    });
    const official = JSON.parse((await inProject("node", ["dist/official-client.js", serverUrl])).stdout);
    expect(official).toEqual({ greeting: "hello bob", echoed: "hey" });
  }, 60_000);

  it("serves the shipped browser bundles, which call the hub from Chromium", async () => {
    expect(serverUrl, "the server of the previous test").toBeDefined();
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(serverUrl);
    await page.waitForFunction(() => typeof (window as { call?: unknown }).call === "function");
    const results = await page.evaluate(() => (window as unknown as { call(): Promise<unknown> }).call());
    expect(results).toEqual({
      json: { greeting: "hello browser", bytesAreBytes: false },
      messagepack: { greeting: "hello browser", bytesAreBytes: true },
      multiplexed: { greeting: "hello browser" },
    });
  }, 60_000);
});
