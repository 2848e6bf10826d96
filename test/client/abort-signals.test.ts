import { describe, expect, it } from "vitest";
import { HubConnection, withSignal } from "../../client/index.js";
import { WebSocketTransport } from "../../client/transports/websocket.js";
import { fixturePerTest } from "./fixture-per-test.js";

const RS = "\u001e";

/** A real AbortSignal whose abort listeners the test can count. */
function countedSignal(): { controller: AbortController; listeners: Set<unknown> } {
  const controller = new AbortController();
  const listeners = new Set<unknown>();
  const { signal } = controller;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, listener: EventListener, options?: AddEventListenerOptions) => {
    if (type === "abort") listeners.add(listener);
    add(type, listener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: EventListener) => {
    if (type === "abort") listeners.delete(listener);
    remove(type, listener);
  }) as typeof signal.removeEventListener;
  return { controller, listeners };
}

describe("calls sharing one AbortSignal", () => {
  const fixture = fixturePerTest();

  /** A connection over a real WebSocket whose every outgoing message the test sees. */
  async function recordedConnection(path = "/testhub"): Promise<{ connection: HubConnection; sent: Array<Record<string, unknown>> }> {
    const sent: Array<Record<string, unknown>> = [];
    const connection = new HubConnection(`${fixture.server.url}${path}`, {
      reconnect: false,
      transportFactory: (events) => {
        const transport = new WebSocketTransport({ http: { headers: {}, withCredentials: true, token: async () => undefined, timeoutMs: 10_000 }, events });
        const send = transport.send.bind(transport);
        transport.send = (data) => {
          for (const record of (data as string).split(RS).filter(Boolean)) sent.push(JSON.parse(record) as Record<string, unknown>);
          return send(data);
        };
        return transport;
      },
    });
    fixture.track(connection);
    await connection.start();
    return { connection, sent };
  }

  it("holds no listener for finished calls, and aborting it then cancels none of them", async () => {
    const { connection, sent } = await recordedConnection();
    const { controller, listeners } = countedSignal();
    const options = withSignal(controller.signal);

    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => connection.invoke("Echo", `call ${i}`, options)));
    expect(results[99]).toBe("call 99");
    for (let i = 0; i < 10; i++) {
      const items: string[] = [];
      for await (const item of connection.stream<string>("Stream", options)) items.push(item);
      expect(items).toEqual(["a", "b", "c"]);
    }
    expect(listeners.size).toBe(0);

    controller.abort();
    // Sent after anything the abort could have sent, on the same ordered socket.
    expect(await connection.invoke("Echo", "after")).toBe("after");
    expect(sent.filter((m) => m.type === 5)).toEqual([]);
  });

  it("cancels only the call still running, and removes its listener", async () => {
    const { connection, sent } = await recordedConnection("/interophub");
    const { controller, listeners } = countedSignal();
    const options = withSignal(controller.signal);
    expect(await connection.invoke("Add", 1, 2, options)).toBe(3);

    const items: number[] = [];
    const running = (async () => {
      for await (const item of connection.stream<number>("Counter", 1000, 10, options)) {
        items.push(item);
        if (items.length === 2) controller.abort(new Error("no longer needed"));
      }
    })();
    await expect(running).rejects.toThrow("no longer needed");
    expect(listeners.size).toBe(0);
    const streamId = sent.find((m) => m.type === 4)!.invocationId;
    expect(sent.filter((m) => m.type === 5)).toEqual([{ type: 5, invocationId: streamId }]);
    expect(await connection.invoke("Add", 2, 2)).toBe(4);
  });

  it("gives a signal one listener however many running calls share it, and cancels each when it aborts", async () => {
    const { connection, sent } = await recordedConnection();
    const { controller, listeners } = countedSignal();
    const options = withSignal(controller.signal);
    let streamsCanceled = 0;
    const allCanceled = new Promise<void>((resolve) =>
      connection.on("StreamCanceled", () => {
        if (++streamsCanceled === 20) resolve();
      }),
    );

    // Never yields until cancelled: all 20 run at once (Node warns past 10 listeners on one signal).
    const ends = Array.from({ length: 20 }, () => connection.stream<string>("InfiniteStream", options)[Symbol.asyncIterator]().next());
    expect(listeners.size).toBe(1);

    controller.abort(new Error("page closed"));
    for (const end of ends) await expect(end).rejects.toThrow("page closed");
    await allCanceled; // the server cancelled each one
    expect(listeners.size).toBe(0);
    const started = sent.filter((m) => m.type === 4).map((m) => m.invocationId);
    expect(sent.filter((m) => m.type === 5).map((m) => m.invocationId)).toEqual(started);
    expect(started).toHaveLength(20);
  });

  it("sends nothing for a call whose signal was aborted before it started", async () => {
    const { connection, sent } = await recordedConnection();
    const before = sent.length;
    await expect(connection.invoke("Echo", "never", withSignal(AbortSignal.abort(new Error("too late"))))).rejects.toThrow("too late");
    const stream = connection.stream("Stream", withSignal(AbortSignal.abort(new Error("too late"))));
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toThrow("too late");
    expect(sent.slice(before)).toEqual([]);
  });
});
