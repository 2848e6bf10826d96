import "reflect-metadata";
import { describe, expect, it } from "vitest";
import { Authorize, Hub, HubClass, HubMethod, HubwireError, UploadStream, describeHub } from "../../src/index.js";

describe("describeHub", () => {
  it("reads wire names, parameter counts and authorization once into a frozen descriptor", () => {
    @Authorize()
    @HubClass({ name: "Chat" })
    class ChatHub extends Hub {
      @HubMethod("Echo") echo(text: string) {
        return text;
      }
      @Authorize("admin") @HubMethod() kick(connectionId: string, reason: string) {
        return [connectionId, reason];
      }
      notExposed() {}
    }
    const d = describeHub(ChatHub);
    expect(d.name).toBe("Chat");
    expect(Object.isFrozen(d)).toBe(true);
    expect([...d.methods.keys()].sort()).toEqual(["echo", "kick"]);
    expect(d.methods.get("echo")).toMatchObject({ wireName: "Echo", propertyKey: "echo", parameterCount: 1, authorize: [] });
    expect(d.methods.get("kick")).toMatchObject({ wireName: "kick", parameterCount: 2, authorize: [{ policy: "admin" }] });
    expect(d.authorize).toEqual([{}]);
    expect(d.methods.has("notexposed")).toBe(false);
  });

  it("inherits hub methods from a base hub class", () => {
    class BaseHub extends Hub {
      @HubMethod("Ping") ping() {
        return "pong";
      }
    }
    @HubClass()
    class DerivedHub extends BaseHub {
      @HubMethod("Own") own() {}
    }
    expect([...describeHub(DerivedHub).methods.keys()].sort()).toEqual(["own", "ping"]);
  });

  const rejects = (hubClass: unknown, code: string, text: RegExp) => {
    let caught: unknown;
    try {
      describeHub(hubClass as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HubwireError);
    expect((caught as HubwireError).code).toBe(code);
    expect((caught as HubwireError).message).toMatch(text);
  };

  it("rejects a class without @HubClass()", () => {
    class Plain extends Hub {}
    rejects(Plain, "ERR_HUB_NOT_DECORATED", /Plain is not decorated with @HubClass\(\)/);
  });

  it("rejects a class that does not extend Hub", () => {
    class NotAHub {}
    rejects(NotAHub, "ERR_HUB_NOT_A_HUB", /NotAHub does not extend Hub/);
  });

  it("rejects two methods with one wire name, compared case-insensitively", () => {
    @HubClass()
    class Twice extends Hub {
      @HubMethod("Send") a() {}
      @HubMethod("SEND") b() {}
    }
    rejects(Twice, "ERR_HUB_DUPLICATE_METHOD", /'SEND' twice/);
  });

  it("rejects a lifecycle method exposed as a hub method", () => {
    @HubClass()
    class Lifecycle extends Hub {
      @HubMethod() override onConnected() {}
    }
    rejects(Lifecycle, "ERR_HUB_INVALID_METHOD", /lifecycle method/);
  });

  it("rejects a hub method that has the name of a Hub member, which would hide it or be hidden", () => {
    @HubClass()
    class Hidden extends Hub {
      // @ts-expect-error: TypeScript refuses it too; a JavaScript hub is told at startup
      @HubMethod("Connections") connections() {
        return 1;
      }
    }
    rejects(Hidden, "ERR_HUB_INVALID_METHOD", /has the name of a Hub member .*@HubMethod\("Connections"\)/);
  });

  it("rejects a blank wire name", () => {
    @HubClass()
    class Blank extends Hub {
      @HubMethod(" ") a() {}
    }
    rejects(Blank, "ERR_HUB_INVALID_METHOD", /empty or blank/);
  });
  it("knows streaming methods and upload-stream parameters", () => {
    @HubClass()
    class StreamsHub extends Hub {
      @HubMethod() async *ticks(_count: number) {
        yield 1;
      }
      @HubMethod({ stream: true }) feed(): AsyncIterable<number> {
        return this.ticks(1);
      }
      @HubMethod() async merge(@UploadStream() _a: AsyncIterable<string>, _sep: string, @UploadStream() _b: AsyncIterable<string>) {
        return "";
      }
      @HubMethod() plain(_x: number) {}
    }
    const { methods } = describeHub(StreamsHub);
    const pick = (name: string) => {
      const m = methods.get(name)!;
      return [m.streaming, m.parameterCount, m.argumentCount, [...m.uploadStreams]];
    };
    expect(pick("ticks")).toEqual([true, 1, 1, []]);
    expect(pick("feed")).toEqual([true, 0, 0, []]);
    expect(pick("merge")).toEqual([false, 3, 1, [0, 2]]);
    expect(pick("plain")).toEqual([false, 1, 1, []]);
  });

  it("rejects an async generator declared as not streaming", () => {
    @HubClass()
    class Confused extends Hub {
      @HubMethod({ stream: false }) async *ticks() {
        yield 1;
      }
    }
    expect(() => describeHub(Confused)).toThrow(expect.objectContaining({ code: "ERR_HUB_INVALID_METHOD" }));
  });
});
