import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HubConnection } from "../../client/index.js";
import { fixturePerTest } from "../client/fixture-per-test.js";
import { generate } from "../../src/codegen/generate.js";
import { interopHub } from "./generated/interop-hub.client.js";
import { testHub } from "./generated/test-hub.client.js";
import { tempFolder } from "../support/temp-files.js";

const root = new URL("../../", import.meta.url).pathname;

// Each generate() builds a TypeScript program (seconds each on a busy 2-core machine), and one
// test here makes five: the time limit is for the work, not a speed goal.
describe("hubwire codegen", { timeout: 120_000 }, () => {
  it("finds the committed clients up to date (--check)", () => {
    const fixture = generate({
      files: [`${root}samples/interop-server/test-hub.ts`, `${root}samples/interop-server/interop-hub.ts`, `${root}test/codegen/readme-chat-hub.ts`],
      outDir: `${root}test/codegen/generated`,
      clientImport: "../../../client/index.js",
      check: true,
    });
    const sample = generate({
      files: [`${root}samples/notifications/notification-hub.ts`],
      outDir: `${root}samples/notifications/web/generated`,
      clientImport: "../../../../client/index.js",
      check: true,
    });
    expect([...fixture.stale, ...sample.stale]).toEqual([]);
  });

  it("reports a client as stale once its hub changes, and writes the same bytes twice", () => {
    const dir = tempFolder();
    cpSync(`${root}samples/notifications`, join(dir, "notifications"), { recursive: true });
    const hubFile = join(dir, "notifications", "notification-hub.ts");
    // The copy imports hubwire from its own place; point it back at this repository's sources.
    writeFileSync(hubFile, readFileSync(hubFile, "utf8").replaceAll("../../src/index.js", `${root}src/index.js`));
    const out = join(dir, "generated");
    expect(generate({ files: [hubFile], outDir: out }).written).toHaveLength(1);
    const first = readFileSync(join(out, "notification-hub.client.ts"), "utf8");
    expect(generate({ files: [hubFile], outDir: out, check: true }).stale).toEqual([]);
    expect(generate({ files: [hubFile], outDir: out }).written).toEqual([]); // deterministic
    writeFileSync(
      hubFile,
      readFileSync(hubFile, "utf8").replace(`  @HubMethod("MarkAllRead")`, `  @HubMethod("Ping")\n  ping(): string {\n    return "pong";\n  }\n\n  @HubMethod("MarkAllRead")`),
    );
    expect(generate({ files: [hubFile], outDir: out, check: true }).stale).toHaveLength(1);
    generate({ files: [hubFile], outDir: out });
    const second = readFileSync(join(out, "notification-hub.client.ts"), "utf8");
    expect(second).not.toBe(first);
    expect(second).toContain(`ping(options?: CallOptions): Promise<string>;`);
    expect(second).toContain(`ping: { name: "Ping" },`);
  });

  it("carries wire names, streams, uploads, results and TSDoc into the client", () => {
    const code = readFileSync(`${root}test/codegen/generated/interop-hub.client.ts`, "utf8");
    expect(code).toContain(`counter(count: number, delayMs: number, options?: CallOptions): HubStream<number>;`);
    expect(code).toContain(`uploadPair(first: AsyncIterable<string>, second: AsyncIterable<string>, options?: CallOptions): Promise<string>;`);
    expect(code).toContain(`counter: { name: "Counter", stream: true },`);
    expect(code).toContain(`Result?(): number | Promise<number>;`);
    expect(code).toContain(`/** Awaits a result from its own caller inside the invocation: must not deadlock the connection. */`);
  });
});

describe("generated clients at run time", () => {
  const fixture = fixturePerTest();
  let connection: HubConnection;

  async function* letters(...items: string[]) {
    yield* items;
  }

  it("calls, streams, uploads and answers client results through the generated module", async () => {
    connection = fixture.track(new HubConnection(`${fixture.server.url}/interophub`, { reconnect: false }));
    await connection.start();
    const hub = interopHub(connection);
    hub.on({ Result: () => 21 });
    expect(await hub.add(1, 2)).toBe(3);
    expect(await hub.askCaller()).toBe(21);
    expect(await hub.uploadPair(letters("a", "b"), letters("c"))).toBe("ab|c");
    const counted: number[] = [];
    for await (const n of hub.counter(3, 0)) counted.push(n);
    expect(counted).toEqual([0, 1, 2]);
    await hub.send.add(5, 5);
    expect(await hub.callCount()).toBeGreaterThanOrEqual(5);
  });

  it("maps TypeScript names to wire names", async () => {
    connection = fixture.track(new HubConnection(`${fixture.server.url}/testhub`, { reconnect: false }));
    await connection.start();
    const hub = testHub(connection);
    const got: string[] = [];
    hub.on({ Message: (text) => void got.push(text) });
    expect(await hub.echo("hi")).toBe("hi");
    expect(await hub.getActiveTransportName()).toBe("WebSockets");
    await hub.invokeWithString("back");
    expect(got).toEqual(["back"]);
  });
});
