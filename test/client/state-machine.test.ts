import { afterEach, describe, expect, it } from "vitest";
import { HubConnection, withSignal, type HubConnectionOptions } from "../../client/index.js";
import type { ClientTransport, TransportEvents } from "../../client/transports/transport.js";
import { waitFor } from "../support/wait.js";

const RS = "\u001e";

/** A transport the test plays the server for: it records what the client sends. */
class FakeTransport implements ClientTransport {
  readonly kind = "WebSockets" as const;
  readonly sent: string[] = [];
  stopped = false;
  constructor(readonly events: TransportEvents) {}
  async connect(): Promise<void> {}
  async send(data: string | Uint8Array): Promise<void> {
    if (this.stopped) throw new Error("stopped");
    this.sent.push(data as string);
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  /** What the client sent, parsed (the handshake excluded). */
  messages(): Array<Record<string, unknown>> {
    return this.sent.slice(1).flatMap((s) => s.split(RS).filter(Boolean).map((r) => JSON.parse(r) as Record<string, unknown>));
  }
  server(...messages: object[]): void {
    this.events.onData(messages.map((m) => JSON.stringify(m) + RS).join(""));
  }
}

describe("HubConnection state machine (fake transports)", () => {
  const transports: FakeTransport[] = [];
  const connections: HubConnection[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.stop()));
    transports.length = 0;
  });

  /** A connection whose every attempt gets a new fake; the fake answers the handshake with `reply`. */
  function connection(options: HubConnectionOptions = {}, reply = "{}"): HubConnection {
    const hub = new HubConnection("http://fake/hub", {
      reconnect: { nextDelay: (attempt) => (attempt > 50 ? null : 5) },
      ...options,
      transportFactory: (events) => {
        const transport = new FakeTransport(events);
        transports.push(transport);
        const send = transport.send.bind(transport);
        transport.send = async (data) => {
          await send(data);
          if (transport.sent.length === 1) queueMicrotask(() => events.onData(reply + RS));
        };
        return transport;
      },
    });
    connections.push(hub);
    return hub;
  }

  const last = () => transports[transports.length - 1]!;

  it("handshakes, then matches completions to calls by id", async () => {
    const hub = connection();
    const starting = hub.start();
    expect(hub.state).toBe("Connecting");
    await starting;
    expect(hub.state).toBe("Connected");
    expect(last().sent[0]).toBe(`{"protocol":"json","version":1}${RS}`);
    const a = hub.invoke("A", 1);
    const b = hub.invoke("B");
    await waitFor(() => last().messages().length === 2, "both calls to be sent");
    expect(last().messages()).toEqual([
      { type: 1, invocationId: "0", target: "A", arguments: [1] },
      { type: 1, invocationId: "1", target: "B", arguments: [] },
    ]);
    last().server({ type: 3, invocationId: "1", result: null }, { type: 3, invocationId: "0", error: "boom" });
    expect(await b).toBeNull();
    await expect(a).rejects.toThrow("boom");
  });

  it("fails start with the server's handshake error", async () => {
    const hub = connection({ reconnect: false }, `{"error":"The protocol 'json' is not supported."}`);
    await expect(hub.start()).rejects.toThrow("Server returned handshake error: The protocol 'json' is not supported.");
    expect(hub.state).toBe("Disconnected");
  });

  it("pings when idle, and gives up on a silent server", async () => {
    const hub = connection({ reconnect: false, keepAliveIntervalMs: 20, serverTimeoutMs: 200 });
    const closed = new Promise<Error | undefined>((resolve) => hub.onClose(resolve));
    await hub.start();
    await waitFor(() => last().messages().some((m) => m.type === 6), "a ping");
    expect((await closed)?.message).toBe("Server timeout elapsed without receiving a message from the server.");
  });

  it("on a drop: fails calls in flight, reconnects, and delivers calls made meanwhile in order", async () => {
    const hub = connection();
    const events: string[] = [];
    hub.onReconnecting(() => events.push("reconnecting"));
    hub.onReconnected(() => events.push("reconnected"));
    await hub.start();
    const inFlight = hub.invoke("Slow");
    last().events.onClose(new Error("socket reset"));
    await expect(inFlight).rejects.toThrow("Invocation canceled due to the underlying connection being closed.");
    expect(hub.state).toBe("Reconnecting");
    const first = hub.send("Note", 1);
    const second = hub.invoke("Note", 2);
    await first;
    expect(hub.state).toBe("Connected");
    const fresh = last();
    expect(fresh.messages()).toEqual([
      { type: 1, target: "Note", arguments: [1] },
      { type: 1, invocationId: "1", target: "Note", arguments: [2] },
    ]);
    fresh.server({ type: 3, invocationId: "1", result: "ok" });
    expect(await second).toBe("ok");
    expect(events).toEqual(["reconnecting", "reconnected"]);
  });

  it("reconnects on a Close that allows it, and closes on one that does not", async () => {
    const hub = connection();
    await hub.start();
    const reconnecting = new Promise((resolve) => hub.onReconnecting(resolve));
    last().server({ type: 7, allowReconnect: true });
    await reconnecting;
    await new Promise((resolve) => hub.onReconnected(resolve));
    const closed = new Promise<Error | undefined>((resolve) => hub.onClose(resolve));
    last().server({ type: 7, error: "Connection closed with an error." });
    last().events.onClose();
    expect((await closed)?.message).toBe("Server returned an error on close: Connection closed with an error.");
    expect(hub.state).toBe("Disconnected");
  });

  it("after a Close it may not reconnect on, fails new calls at once while the socket closes, and reports the server's error", async () => {
    const hub = connection({ reconnect: false });
    await hub.start();
    const closed = new Promise<Error | undefined>((resolve) => hub.onClose(resolve));
    last().server({ type: 7, error: "Connection closed with an error.", allowReconnect: true });
    expect(hub.state).toBe("Disconnecting");
    await expect(hub.invoke("Echo", 1)).rejects.toMatchObject({ code: "ERR_NOT_CONNECTED" });
    expect(last().messages()).toEqual([]); // nothing went to the closing socket
    await hub.stop(); // before the socket is down: the server's reason still reaches onClose
    expect((await closed)?.message).toBe("Server returned an error on close: Connection closed with an error.");
    expect(hub.state).toBe("Disconnected");
  });

  it("answers server calls that want a result", async () => {
    const hub = connection();
    await hub.start();
    hub.on("Confirm", (question: string) => question.length);
    last().server({ type: 1, invocationId: "s1", target: "confirm", arguments: ["sure?"] }, { type: 1, invocationId: "s2", target: "Missing", arguments: [] });
    await waitFor(() => last().messages().length === 2, "both answers");
    const answers = last().messages();
    expect(answers).toHaveLength(2);
    expect(answers).toContainEqual({ type: 3, invocationId: "s1", result: 5 });
    expect(answers).toContainEqual({ type: 3, invocationId: "s2", error: "Client didn't provide a result." });
  });

  it("cancels a call with its signal", async () => {
    const hub = connection();
    await hub.start();
    const controller = new AbortController();
    const call = hub.invoke("Work", withSignal(controller.signal));
    await waitFor(() => last().messages().length === 1, "the call to be sent");
    controller.abort(new Error("no longer needed"));
    await expect(call).rejects.toThrow("no longer needed");
    expect(last().messages()).toEqual([
      { type: 1, invocationId: "0", target: "Work", arguments: [] },
      { type: 5, invocationId: "0" },
    ]);
  });

  it("refuses calls when not connected, and when too many are held", async () => {
    const hub = connection({ maxBufferedCalls: 1, reconnect: { nextDelay: () => 60_000 } }); // stays reconnecting
    await expect(hub.invoke("X")).rejects.toThrow("Cannot send data if the connection is not in the 'Connected' State.");
    await hub.start();
    last().events.onClose(new Error("gone"));
    expect(hub.state).toBe("Reconnecting");
    const held = hub.send("Held", 1).catch((error: Error) => error.message);
    await expect(hub.send("Held", 2)).rejects.toThrow("Too many calls are waiting for the connection to come back.");
    await hub.stop();
    expect(await held).toBe("Cannot send data if the connection is not in the 'Connected' State.");
  });
});
