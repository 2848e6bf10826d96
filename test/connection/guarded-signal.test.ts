import { describe, expect, it } from "vitest";
import { guardListeners } from "../../src/connection/guarded-signal.js";

describe("guardListeners", () => {
  function guarded(): { controller: AbortController; signal: AbortSignal; failures: unknown[] } {
    const controller = new AbortController();
    const failures: unknown[] = [];
    guardListeners(controller.signal, { listenerThrew: (error) => failures.push(error) });
    return { controller, signal: controller.signal, failures };
  }

  it("runs a listener added twice once, and not at all once removed", () => {
    const { controller, signal, failures } = guarded();
    const calls: string[] = [];
    const twice = () => calls.push("twice");
    const removed = () => calls.push("removed");
    signal.addEventListener("abort", twice);
    signal.addEventListener("abort", twice);
    signal.addEventListener("abort", removed);
    signal.removeEventListener("abort", removed);
    signal.addEventListener("abort", null as unknown as EventListener); // as plain JavaScript may
    controller.abort();
    expect(calls).toEqual(["twice"]);
    expect(failures).toEqual([]);
  });

  it("keeps the listener's this, its once option and a listener added before it", () => {
    const controller = new AbortController();
    const calls: unknown[] = [];
    const before = () => calls.push("before");
    controller.signal.addEventListener("abort", before);
    const failures: unknown[] = [];
    guardListeners(controller.signal, { listenerThrew: (error) => failures.push(error) });
    guardListeners(controller.signal, { listenerThrew: () => failures.push("second guard") });
    controller.signal.addEventListener("abort", function (this: AbortSignal) {
      calls.push(this === controller.signal);
      throw new Error("after");
    }, { once: true });
    controller.signal.removeEventListener("abort", before);
    controller.abort();
    expect(calls).toEqual([true]);
    expect(failures.map((error) => (error as Error).message)).toEqual(["after"]);
  });

  it("reports a throw, a rejection and a throwing onabort without ending the process", async () => {
    const { controller, signal, failures } = guarded();
    signal.addEventListener("abort", () => {
      throw new Error("sync");
    });
    signal.addEventListener("abort", () => Promise.reject(new Error("async")));
    signal.onabort = () => {
      throw new Error("onabort");
    };
    controller.abort();
    await new Promise((resolve) => setImmediate(resolve));
    expect(failures.map((error) => (error as Error).message)).toEqual(["sync", "onabort", "async"]);
  });
});
