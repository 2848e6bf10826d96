import { describe, expect, it } from "vitest";
import { SendGate } from "../../src/transports/send-gate.js";

describe("SendGate", () => {
  it("lets one send in at a time, the waiting ones in arrival order, and refuses past its bound", async () => {
    const gate = new SendGate(2);
    const order: string[] = [];
    expect(await gate.enter()).toBe(true); // the first goes at once
    const second = gate.enter().then((ok) => (order.push("second"), ok));
    const third = gate.enter().then((ok) => (order.push("third"), ok));
    expect(await gate.enter()).toBe(false); // two wait already
    gate.leave();
    expect(await second).toBe(true);
    expect(order).toEqual(["second"]);
    gate.leave();
    expect(await third).toBe(true);
    gate.leave();
    expect(await gate.enter()).toBe(true); // free again
  });
});
