import "reflect-metadata";
import ts from "typescript6";
import { describe, expect, it } from "vitest";
import * as hubwire from "../../src/index.js";
import { Authorize, Hub, HubClass, HubMethod, HubServer, type LogFields, type Logger } from "../../src/index.js";

// Mistakes a new project makes while setting up, each of which used to leave a hub nobody can
// call without a word: they now fail, or warn, where they are made.

const standardDecoratorError = expect.objectContaining({
  code: "ERR_STANDARD_DECORATOR",
  message: expect.stringMatching(/"experimentalDecorators": true and "emitDecoratorMetadata": true/),
});

/** What TypeScript passes a standard (TC39) decorator as its second argument. */
function standardContext(kind: "class" | "method", name: string) {
  return { kind, name, static: false, private: false, addInitializer() {}, metadata: {}, access: { has: () => true, get: () => undefined } };
}

describe("hub decorators called as standard decorators (experimentalDecorators off)", () => {
  it("throw ERR_STANDARD_DECORATOR naming the tsconfig.json options, from each decorator", () => {
    class ChatHub extends Hub {
      send() {}
    }
    const method = ChatHub.prototype.send;
    expect(() => (HubMethod() as Function)(method, standardContext("method", "send"))).toThrow(standardDecoratorError);
    expect(() => (HubMethod() as Function)(method, standardContext("method", "send"))).toThrow(/on method 'send'/);
    expect(() => (HubClass() as Function)(ChatHub, standardContext("class", "ChatHub"))).toThrow(standardDecoratorError);
    expect(() => (Authorize("admin") as Function)(method, standardContext("method", "send"))).toThrow(standardDecoratorError);
    expect(() => (Authorize() as Function)(ChatHub, standardContext("class", "ChatHub"))).toThrow(standardDecoratorError);
  });

  it("stop a hub compiled by TypeScript without experimentalDecorators where it is declared", () => {
    const source = `
      import { Hub, HubClass, HubMethod } from "hubwire";
      @HubClass()
      export class ChatHub extends Hub {
        @HubMethod("Send") send(text: string) { return text; }
      }`;
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, experimentalDecorators: false },
    });
    expect(outputText).toContain("__esDecorate"); // TypeScript's standard-decorator emit, not the legacy one
    const load = new Function("require", "exports", outputText);
    const require = (specifier: string) => {
      if (specifier !== "hubwire") throw new Error(`unexpected import ${specifier}`);
      return hubwire;
    };
    expect(() => load(require, {})).toThrow(standardDecoratorError);

    // The same hub with legacy decorators loads.
    const legacy = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, experimentalDecorators: true, emitDecoratorMetadata: true },
    });
    const exports: { ChatHub?: unknown } = {};
    new Function("require", "exports", legacy.outputText)(require, exports);
    expect(hubwire.describeHub(exports.ChatHub as hubwire.HubClassType).methods.has("send")).toBe(true);
  });
});

describe("mapping mistakes", () => {
  function recordingLogger() {
    const warnings: Array<{ message: string; fields?: LogFields }> = [];
    const ignore = () => {};
    const logger: Logger = { debug: ignore, info: ignore, error: ignore, warn: (message, fields) => warnings.push({ message, fields }) };
    return { logger, warnings };
  }

  it("warns when a hub has no @HubMethod(), and not when it has one", async () => {
    @HubClass()
    class NoMethodsHub extends Hub {
      send() {}
    }
    @HubClass()
    class OneMethodHub extends Hub {
      @HubMethod() send() {}
    }
    const { logger, warnings } = recordingLogger();
    const server = new HubServer({ logger });
    try {
      server.mapHub("/one", OneMethodHub);
      expect(warnings).toEqual([]);
      server.mapHub("/none", NoMethodsHub);
      expect(warnings).toEqual([{ message: expect.stringContaining("no @HubMethod()"), fields: { hub: "NoMethodsHub", path: "/none" } }]);
    } finally {
      await server.close();
    }
  });

  it("rejects a path without its leading slash with ERR_INVALID_PATH", async () => {
    @HubClass()
    class ChatHub extends Hub {
      @HubMethod() send() {}
    }
    const server = new HubServer({ logger: recordingLogger().logger });
    try {
      expect(() => server.mapHub("chat", ChatHub)).toThrow(expect.objectContaining({ code: "ERR_INVALID_PATH", message: expect.stringContaining("'chat'") }));
      expect(() => server.mapConnection("echo", () => {})).toThrow(expect.objectContaining({ code: "ERR_INVALID_PATH" }));
      expect(() => server.mapHub("/chat", ChatHub)).not.toThrow();
    } finally {
      await server.close();
    }
  });
});
