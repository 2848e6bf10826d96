import { describe, expect, it } from "vitest";
import { DashboardRecorder, defaultDashboardLimits } from "../../src/dashboard/dashboard-recorder.js";
import type { HubInvocationContext } from "../../src/dispatch/hub-filter.js";
import { describeHub, Hub, HubClass, HubException, HubMethod } from "../../src/index.js";

@HubClass()
class CountedHub extends Hub {
  @HubMethod("Sync")
  sync(value: number): number {
    return value;
  }

  @HubMethod("Later")
  async later(value: number): Promise<number> {
    return value;
  }

  @HubMethod("Refuse")
  refuse(): never {
    throw new HubException("no");
  }

  @HubMethod("Count")
  async *count(): AsyncIterable<number> {
    yield 1;
    yield 2;
  }
}

const descriptor = describeHub(CountedHub);

function call(recorder: DashboardRecorder, method: string, args: unknown[] = []): unknown {
  const invoke = recorder.observerFor("CountedHub").wrapInvoke(undefined);
  const invocation = {
    hub: new CountedHub(),
    context: { connectionId: "c1" },
    method: descriptor.methods.get(method.toLowerCase())!,
    arguments: args,
  } as unknown as HubInvocationContext;
  return invoke(invocation);
}

const figures = (recorder: DashboardRecorder) =>
  Object.fromEntries([...recorder.methodsOf("CountedHub")].map((m) => [m.name, { calls: m.calls, errors: m.errors, hubExceptions: m.hubExceptions }]));

describe("DashboardRecorder", () => {
  it("records a synchronous call without making it a promise", () => {
    const recorder = new DashboardRecorder(defaultDashboardLimits);
    expect(call(recorder, "Sync", [7])).toBe(7);
    expect(figures(recorder)).toEqual({ Sync: { calls: 1, errors: 0, hubExceptions: 0 } });
    expect(recorder.callsByConnection.of("c1").map((c) => c.method)).toEqual(["Sync"]);
  });

  it("records an asynchronous call when it settles, and a throw by its outcome", async () => {
    const recorder = new DashboardRecorder(defaultDashboardLimits);
    const pending = call(recorder, "Later", [3]);
    expect(figures(recorder)).toEqual({});
    expect(await pending).toBe(3);
    expect(() => call(recorder, "Refuse")).toThrow("no");
    expect(figures(recorder)).toEqual({ Later: { calls: 1, errors: 0, hubExceptions: 0 }, Refuse: { calls: 1, errors: 0, hubExceptions: 1 } });
    expect(recorder.recentCalls.toArray().map((c) => [c.method, c.outcome])).toEqual([["Refuse", "hub_exception"], ["Later", "ok"]]);
  });

  it("records a stream once its reader is done with it", async () => {
    const recorder = new DashboardRecorder(defaultDashboardLimits);
    const stream = call(recorder, "Count") as AsyncIterable<number>;
    const items: number[] = [];
    for await (const item of stream) {
      expect(figures(recorder)).toEqual({});
      items.push(item);
    }
    expect(items).toEqual([1, 2]);
    expect(figures(recorder)).toEqual({ Count: { calls: 1, errors: 0, hubExceptions: 0 } });
  });
});
