import { describe, expect, it } from "vitest";
import { BackplaneOutbox } from "../../src/lifetime/backplane-outbox.js";

/** An outbox whose publishes settle when the test says, one by one. */
function outbox() {
  const pending: Array<{ channel: string; settle: (ok: boolean) => void }> = [];
  const box = new BackplaneOutbox(
    (channel) => new Promise<number>((resolve, reject) => pending.push({ channel, settle: (ok) => (ok ? resolve(1) : reject(new Error("down"))) })),
    { maxAge: 60_000, maxBytes: 1_000 },
    () => {},
    () => {},
  );
  const settle = async (channel: string, ok = true) => {
    const at = pending.findIndex((publish) => publish.channel === channel);
    pending.splice(at, 1)[0]!.settle(ok);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { box, settle };
}

describe("BackplaneOutbox", () => {
  it("confirms a number only once the backplane took it and every numbered message before it", async () => {
    const { box, settle } = outbox();
    for (const seq of [1, 2, 3]) box.add(`c${seq}`, new Uint8Array(1), false, seq);
    box.add("unnumbered", new Uint8Array(1));
    box.add("c4", new Uint8Array(1), false, 4);
    expect(box.confirmedThrough).toBe(0);
    // Taken out of order, as a Redis Cluster's shards may: message 1 is still held by its shard.
    await settle("c2");
    await settle("c3");
    expect(box.confirmedThrough).toBe(0);
    await settle("c1");
    expect(box.confirmedThrough).toBe(3);
    await settle("c4");
    expect(box.confirmedThrough).toBe(3);
    await settle("unnumbered");
    expect(box.confirmedThrough).toBe(4);
  });

  it("does not confirm a message whose publish failed, until it is published again and taken", async () => {
    const { box, settle } = outbox();
    box.add("c1", new Uint8Array(1), false, 1);
    box.add("c2", new Uint8Array(1), false, 2);
    await settle("c1", false);
    await settle("c2");
    expect(box.confirmedThrough).toBe(0);
    box.open();
    await settle("c1");
    expect(box.confirmedThrough).toBe(2);
  });

  it("settles once the backplane took every message, or once it holds after a failure", async () => {
    const { box, settle } = outbox();
    await box.settledOrHeld(); // nothing handed: at once
    box.add("a", new Uint8Array(1));
    box.add("b", new Uint8Array(1));
    let settled = false;
    void box.settledOrHeld().then(() => (settled = true));
    await settle("a");
    expect(settled).toBe(false);
    await settle("b");
    expect(settled).toBe(true);

    box.add("c", new Uint8Array(1));
    box.add("d", new Uint8Array(1));
    settled = false;
    void box.settledOrHeld().then(() => (settled = true));
    await settle("c", false);
    expect(settled).toBe(false); // d is still in flight
    await settle("d");
    expect(settled).toBe(true);
    expect(box.size.messages).toBe(1); // c waits for open()
    await box.settledOrHeld();
  });
});
