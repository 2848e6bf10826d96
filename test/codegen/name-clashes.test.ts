import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HubConnection } from "../../client/index.js";
import { generate } from "../../src/codegen/generate.js";
import type { HubModel, MethodModel } from "../../src/codegen/hub-model.js";
import { memberNames } from "../../src/codegen/member-names.js";
import { HubServer, silentLogger } from "../../src/index.js";
import { chatHub } from "./generated/chat-hub.client.js";
import { ChatHub } from "./readme-chat-hub.js";
import { tempFolder } from "../support/temp-files.js";

const root = new URL("../../", import.meta.url).pathname;
const readme = readFileSync(`${root}README.md`, "utf8");

/** A scratch directory for hub sources. */
function scratch(): { dir: string; write(name: string, code: string): string } {
  const dir = tempFolder();
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  return {
    dir,
    write(name, code) {
      const file = join(dir, name);
      mkdirSync(join(file, ".."), { recursive: true });
      writeFileSync(file, code);
      return file;
    },
  };
}

/** The first ```ts block after `heading` in the README that contains `marker`. */
function readmeBlock(heading: string, marker: string): string {
  const section = readme.slice(readme.indexOf(heading));
  const block = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes(marker));
  if (!block) throw new Error(`no README block under ${heading} with ${marker}`);
  return block;
}

// The reader needs only the source's shape: declaring the decorators here spares each test the
// type graph of hubwire's server (seconds per program).
const hubHeader = `declare function HubClass(): ClassDecorator;\ndeclare function HubMethod(name?: string): MethodDecorator;\ndeclare class Hub {}\n`;

describe("generated names never collide with the client's own", () => {
  it.each([
    ["a method named send whose wire name is send too", [["send", "send"]], "ChatHub.send (wire name 'send') cannot be named in the generated client: send is the generated client's own."],
    ["a method named on", [["on", "on"]], "ChatHub.on (wire name 'on') cannot be named"],
    ["a method named then", [["then", "then"]], "ChatHub.then (wire name 'then') cannot be named"],
    ["a wire name that is no identifier", [["send", "send-now"]], "send-now is no identifier"],
    ["a fallback name another method has", [["send", "Send"], ["Send", "Post"]], "is generated as Send"],
  ])("refuses %s with ERR_CODEGEN_NAME_CLASH", (_case, methods, text) => {
    const hub = hubModel(methods.map(([name, wireName]) => ({ name: name!, wireName: wireName! })));
    expect(() => memberNames(hub)).toThrow(expect.objectContaining({ code: "ERR_CODEGEN_NAME_CLASH", message: expect.stringContaining(text) }));
    expect(() => memberNames(hub)).toThrow(`@HubMethod("...")`);
  });

  it("reports a clash from the command's entry point too", () => {
    const project = scratch();
    const hubFile = project.write("chat-hub.ts", `${hubHeader}@HubClass()\nexport class ChatHub extends Hub {\n  @HubMethod() send(text: string) {}\n}\n`);
    expect(() => generate({ files: [hubFile], outDir: join(project.dir, "generated") })).toThrow(expect.objectContaining({ code: "ERR_CODEGEN_NAME_CLASH" }));
  });

  it("renames on and then by their wire names too, and leaves other names as they are", () => {
    const hub = hubModel([
      { name: "on", wireName: "On" },
      { name: "then", wireName: "Then" },
      { name: "join", wireName: "Join" },
    ]);
    expect([...memberNames(hub).values()]).toEqual(["On", "Then", "join"]);
  });
});

/** A hub as the reader would model it, with only what naming looks at. */
function hubModel(methods: Array<Pick<MethodModel, "name" | "wireName">>): HubModel {
  return {
    className: "ChatHub",
    sourceFile: "chat-hub.ts",
    doc: undefined,
    methods: methods.map((m) => ({ ...m, parameters: [], kind: "void", resultType: "void", doc: undefined })),
    clientMethods: [],
    clientInterface: undefined,
    imports: [],
  };
}

describe("a file with no hub", () => {
  it("fails with ERR_CODEGEN_NO_HUBS instead of writing nothing", () => {
    const project = scratch();
    const empty = project.write("not-a-hub.ts", `export class ChatService {\n  send(text: string): string {\n    return text;\n  }\n}\n`);
    const hubFile = project.write("chat-hub.ts", `${hubHeader}@HubClass()\nexport class ChatHub extends Hub {\n  @HubMethod() join() {}\n}\n`);
    expect(() => generate({ files: [hubFile, empty], outDir: join(project.dir, "generated"), check: true })).toThrow(
      expect.objectContaining({ code: "ERR_CODEGEN_NO_HUBS", message: expect.stringContaining("not-a-hub.ts has no hub") }),
    );
  });
});

describe("the README's ChatHub and its generated client", () => {
  it("are the README's, word for word", () => {
    const hub = readmeBlock("## A hub in 20 lines", "class ChatHub");
    const hubText = hub.slice(hub.indexOf("interface ChatClient"), hub.indexOf("\nconst server"));
    expect(readFileSync(`${root}test/codegen/readme-chat-hub.ts`, "utf8")).toContain(hubText);
    const usage = readmeBlock("## Typed clients, generated", "chatHub(connection)");
    const indented = usage.trimEnd().split("\n").map((line) => (line ? `  ${line}` : line)).join("\n");
    expect(readFileSync(`${root}test/codegen/readme-usage.typecheck.ts`, "utf8")).toContain(indented);
  });

  let server: HubServer | undefined;
  afterAll(() => server?.close());

  it("calls the hub's Send as Send, fires it through send, and shows a HubException's text", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/chat", ChatHub);
    const { port } = await server.listen(0);
    const connection = new HubConnection(`http://127.0.0.1:${port}/chat`, { reconnect: false });
    await connection.start();
    try {
      const chat = chatHub(connection);
      const received: string[] = [];
      const twice = new Promise<void>((resolve) => chat.on({ message: (_from, text) => void (received.push(text) === 2 && resolve()) }));
      await chat.join("lobby");
      await chat.Send("lobby", "hello");
      await chat.send.Send("lobby", "fired");
      await twice;
      expect(received).toEqual(["hello", "fired"]);
      await expect(chat.Send("lobby", "")).rejects.toMatchObject({ hubMessage: "Empty message" });
      expect(typeof chat.send).toBe("object");
      expect((chat as unknown as { then?: unknown }).then).toBeUndefined();
      expect((chat.send as unknown as { then?: unknown }).then).toBeUndefined();
    } finally {
      await connection.stop();
    }
  });
});
