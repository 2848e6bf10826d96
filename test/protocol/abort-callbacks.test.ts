import { describe, expect, it } from "vitest";
import { onAbort } from "../../src/protocol/abort-callbacks.js";

/** A signal whose abort listeners the test can count. */
function countedSignal(): { controller: AbortController; listeners: () => number } {
  const controller = new AbortController();
  const { signal } = controller;
  let count = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, listener: EventListener, options?: AddEventListenerOptions) => {
    if (type === "abort") count++;
    add(type, listener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: EventListener) => {
    if (type === "abort") count--;
    remove(type, listener);
  }) as typeof signal.removeEventListener;
  return { controller, listeners: () => count };
}

describe("onAbort", () => {
  it("gives a signal one listener however many callbacks wait on it, and runs each once when it aborts", () => {
    const { controller, listeners } = countedSignal();
    const ran: number[] = [];
    for (let i = 0; i < 50; i++) onAbort(controller.signal, () => ran.push(i));
    expect(listeners()).toBe(1);
    controller.abort();
    controller.abort();
    expect(ran).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("runs no callback that was let go, and takes its listener off with the last one", () => {
    const { controller, listeners } = countedSignal();
    const ran: string[] = [];
    const first = onAbort(controller.signal, () => ran.push("first"));
    const second = onAbort(controller.signal, () => ran.push("second"));
    first();
    first(); // letting go twice changes nothing
    expect(listeners()).toBe(1);
    second();
    expect(listeners()).toBe(0);
    // A signal that waited before waits again as new.
    onAbort(controller.signal, () => ran.push("third"));
    expect(listeners()).toBe(1);
    controller.abort();
    expect(ran).toEqual(["third"]);
  });

  it("runs the same callback once for each wait, and lets each go alone", () => {
    const { controller } = countedSignal();
    let runs = 0;
    const callback = () => runs++;
    const release = onAbort(controller.signal, callback);
    onAbort(controller.signal, callback);
    release();
    controller.abort();
    expect(runs).toBe(1);
  });

  it("lets a callback that lets go of another during the abort keep that one from running", () => {
    const { controller } = countedSignal();
    const ran: string[] = [];
    let releaseSecond = () => {};
    onAbort(controller.signal, () => {
      ran.push("first");
      releaseSecond();
    });
    releaseSecond = onAbort(controller.signal, () => ran.push("second"));
    controller.abort();
    expect(ran).toEqual(["first"]);
  });
});
