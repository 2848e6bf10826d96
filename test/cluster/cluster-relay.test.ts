import cluster, { type Worker } from "node:cluster";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterRelay } from "../../src/cluster/cluster-relay.js";
import type { ToPrimary, ToWorker } from "../../src/cluster/cluster-messages.js";
import { silentLogger } from "../../src/index.js";

// The primary's relay, driven in process: the cluster module's events are emitted as a primary
// would see them, from workers that record what they are sent (test/processes/cluster-backplane
// runs it in a real cluster).

/** A worker that keeps what it is sent; `writes`: whether its channel writes at once (else never: a worker that stops reading). */
function fakeWorker(pid: number, writes = true): Worker & { inbox: ToWorker[]; killed: string[] } {
  const inbox: ToWorker[] = [];
  const killed: string[] = [];
  return {
    inbox,
    killed,
    isConnected: () => killed.length === 0,
    send(message: ToWorker, callback?: (error: Error | null) => void) {
      inbox.push(message);
      if (writes) callback?.(null);
      return true;
    },
    process: { pid, kill: (signal: string) => void killed.push(signal) },
  } as unknown as Worker & { inbox: ToWorker[]; killed: string[] };
}

function from(worker: Worker, message: ToPrimary): void {
  cluster.emit("message", worker, message);
}

const bytes = (n: number) => new Uint8Array(n);

describe("ClusterRelay", () => {
  let relay: ClusterRelay | undefined;
  afterEach(() => relay?.stop());

  it("relays a publish to the workers subscribed to its channel, the publisher too, and says how many", () => {
    relay = new ClusterRelay({ logger: silentLogger });
    const [a, b, c] = [fakeWorker(1), fakeWorker(2), fakeWorker(3)];
    from(a, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    from(b, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    from(c, { hubwireBackplane: "subscribe", id: 1, channel: "other" });
    from(a, { hubwireBackplane: "publish", id: 2, channel: "all", payload: bytes(3) });
    expect(a.inbox.map((m) => m.hubwireBackplane)).toEqual(["done", "message", "done"]);
    expect(a.inbox[2]).toEqual({ hubwireBackplane: "done", id: 2, receivers: 2 });
    expect(b.inbox[1]).toEqual({ hubwireBackplane: "message", channel: "all", payload: bytes(3) });
    expect(c.inbox.filter((m) => m.hubwireBackplane === "message")).toEqual([]);
  });

  it("stops relaying to a worker that unsubscribed, whose backplane closed, or that exited", () => {
    relay = new ClusterRelay({ logger: silentLogger });
    const [a, b, c, d] = [fakeWorker(1), fakeWorker(2), fakeWorker(3), fakeWorker(4)];
    for (const worker of [b, c, d]) from(worker, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    from(b, { hubwireBackplane: "unsubscribe", id: 2, channel: "all" });
    from(c, { hubwireBackplane: "close", id: 2 });
    cluster.emit("exit", d, 0, null);
    from(a, { hubwireBackplane: "publish", id: 1, channel: "all", payload: bytes(1) });
    expect(a.inbox).toEqual([{ hubwireBackplane: "done", id: 1, receivers: 0 }]);
    for (const worker of [b, c, d]) expect(worker.inbox.filter((m) => m.hubwireBackplane === "message")).toEqual([]);
  });

  it("refuses a publish whose bytes arrived as something else: a worker forked before setupPrimary()", () => {
    relay = new ClusterRelay({ logger: silentLogger });
    const [a, b] = [fakeWorker(1), fakeWorker(2)];
    from(b, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    from(a, { hubwireBackplane: "publish", id: 1, channel: "all", payload: { 0: 1 } as unknown as Uint8Array });
    expect(a.inbox).toEqual([{ hubwireBackplane: "done", id: 1, receivers: 0, refused: "serialization" }]);
    expect(b.inbox.filter((m) => m.hubwireBackplane === "message")).toEqual([]);
  });

  it("ends a worker that leaves more than maxUnwrittenBytes unwritten, and relays to the others as before", () => {
    relay = new ClusterRelay({ maxUnwrittenBytes: 1000, logger: silentLogger });
    const [sender, stuck, reading] = [fakeWorker(1), fakeWorker(2, false), fakeWorker(3)];
    for (const worker of [stuck, reading]) from(worker, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    const receivers: number[] = [];
    for (let i = 0; i < 5; i++) {
      from(sender, { hubwireBackplane: "publish", id: i, channel: "all", payload: bytes(300) });
      receivers.push((sender.inbox.at(-1) as { receivers: number }).receivers);
    }
    // 900 bytes wait for the stuck worker; the fourth message would make 1,200.
    expect(receivers).toEqual([2, 2, 2, 1, 1]);
    expect(stuck.killed).toEqual(["SIGKILL"]);
    expect(stuck.inbox.filter((m) => m.hubwireBackplane === "message")).toHaveLength(3);
    expect(reading.inbox.filter((m) => m.hubwireBackplane === "message")).toHaveLength(5);
  });

  it("sends a worker that takes batches what it has for it in one turn as one message, in order; one that said nothing each alone", async () => {
    relay = new ClusterRelay({ logger: silentLogger });
    const [sender, batched, plain] = [fakeWorker(1), fakeWorker(2), fakeWorker(3)];
    for (const worker of [sender, batched]) from(worker, { hubwireBackplane: "hello", id: 0, batches: true });
    for (const worker of [sender, batched, plain]) from(worker, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    for (let i = 2; i < 5; i++) from(sender, { hubwireBackplane: "publish", id: i, channel: "all", payload: bytes(i) });
    // The older worker had each at once; the others wait for the end of the turn, after the hello's answer.
    expect(plain.inbox.map((m) => m.hubwireBackplane)).toEqual(["done", "message", "message", "message"]);
    expect([sender.inbox, batched.inbox]).toEqual([[], []]);
    await new Promise((resolve) => setImmediate(resolve));
    const message = (n: number): ToWorker => ({ hubwireBackplane: "message", channel: "all", payload: bytes(n) });
    const done = (id: number, receivers: number): ToWorker => ({ hubwireBackplane: "done", id, receivers });
    const welcome: ToWorker = { hubwireBackplane: "welcome", batches: true };
    expect(batched.inbox).toEqual([{ hubwireBackplane: "batch", messages: [welcome, done(1, 0), message(2), message(3), message(4)] }]);
    expect(sender.inbox).toEqual([{ hubwireBackplane: "batch", messages: [welcome, done(1, 0), message(2), done(2, 3), message(3), done(3, 3), message(4), done(4, 3)] }]);
    expect(plain.inbox.filter((m) => m.hubwireBackplane === "done").map((m) => (m as { id: number }).id)).toEqual([1]);
  });

  it("takes a worker's batch of requests as those requests, in order, and answers each", async () => {
    relay = new ClusterRelay({ logger: silentLogger });
    const [sender, receiver] = [fakeWorker(1), fakeWorker(2)];
    from(receiver, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    from(sender, {
      hubwireBackplane: "batch",
      id: 0,
      messages: [
        { hubwireBackplane: "subscribe", id: 1, channel: "all" },
        { hubwireBackplane: "publish", id: 2, channel: "all", payload: bytes(1) },
        { hubwireBackplane: "unsubscribe", id: 3, channel: "all" },
        { hubwireBackplane: "publish", id: 4, channel: "all", payload: bytes(2) },
        // Not a request: skipped, as a batch within a batch is.
        "nonsense" as unknown as ToPrimary,
        { hubwireBackplane: "batch", id: 0, messages: [{ hubwireBackplane: "publish", id: 5, channel: "all", payload: bytes(3) }] },
      ],
    });
    expect(sender.inbox).toEqual([
      { hubwireBackplane: "done", id: 1, receivers: 0 },
      { hubwireBackplane: "message", channel: "all", payload: bytes(1) },
      { hubwireBackplane: "done", id: 2, receivers: 2 },
      { hubwireBackplane: "done", id: 3, receivers: 0 },
      { hubwireBackplane: "done", id: 4, receivers: 1 },
    ]);
    expect(receiver.inbox.filter((m) => m.hubwireBackplane === "message")).toEqual([
      { hubwireBackplane: "message", channel: "all", payload: bytes(1) },
      { hubwireBackplane: "message", channel: "all", payload: bytes(2) },
    ]);
    // A batch whose messages are not a list is dropped (its requests fail in time), the primary unhurt.
    from(sender, { hubwireBackplane: "batch", id: 0, messages: 7 as unknown as ToPrimary[] });
    expect(sender.inbox).toHaveLength(5);
  });

  it("ends a worker that takes batches once what waits for it and what its channel has not written pass maxUnwrittenBytes", async () => {
    relay = new ClusterRelay({ maxUnwrittenBytes: 1000, logger: silentLogger });
    const [sender, stuck] = [fakeWorker(1), fakeWorker(2, false)];
    from(stuck, { hubwireBackplane: "hello", id: 0, batches: true });
    from(stuck, { hubwireBackplane: "subscribe", id: 1, channel: "all" });
    for (let i = 0; i < 3; i++) from(sender, { hubwireBackplane: "publish", id: i, channel: "all", payload: bytes(300) });
    await new Promise((resolve) => setImmediate(resolve)); // 900 bytes sent in one batch, never written
    from(sender, { hubwireBackplane: "publish", id: 3, channel: "all", payload: bytes(300) });
    expect(stuck.killed).toEqual(["SIGKILL"]);
    expect(sender.inbox.filter((m) => m.hubwireBackplane === "done").map((m) => (m as { receivers: number }).receivers)).toEqual([1, 1, 1, 0]);
  });

  it("checks maxUnwrittenBytes", () => {
    expect(() => new ClusterRelay({ maxUnwrittenBytes: -1 })).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION" }));
  });
});
