import { afterEach, describe, expect, it } from "vitest";
import { HubConnection, silentLogger, type HubConnectionOptions } from "../../client/index.js";
import { reattachDelaysMs } from "../../client/stateful-link.js";
import { messagePack } from "../../client/msgpack.js";
import type { HubServer, HubServerOptions } from "../../src/index.js";
import { resetResumeLog, ResumeHub, resumeLog, startResumeServer, type ResumeServer } from "../support/resume-hub.js";
import { eventually, within } from "../support/wait.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

describe("hubwire's client with stateful reconnect", () => {
  let server: HubServer | undefined;
  let proxy: TcpProxy | undefined;
  let running: ResumeServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await client?.stop();
    await running?.close();
    client = proxy = server = running = undefined;
    resetResumeLog();
  });

  /** A server behind a proxy that can cut its connections, and a client that asks for stateful reconnect. */
  async function start(serverOptions: HubServerOptions = {}, clientOptions: HubConnectionOptions = {}): Promise<HubConnection> {
    ({ server, proxy } = running = await startResumeServer(serverOptions));
    client = new HubConnection(`${proxy.url}/resume`, {
      transports: ["WebSockets"],
      statefulReconnect: true,
      reconnect: { nextDelay: (attempt) => (attempt > 20 ? null : 50) },
      ...clientOptions,
    });
    return client;
  }

  it.each([
    ["JSON", {}],
    ["MessagePack", { protocol: messagePack }],
  ])("keeps the connection across a dropped WebSocket: nothing is lost or handled twice (%s)", async (_name, options) => {
    const connection = await start({}, options);
    const ticks: number[] = [];
    connection.on("tick", (n: number) => ticks.push(n));
    let reconnecting = false;
    connection.onReconnecting(() => (reconnecting = true));
    await connection.start();
    const id = await connection.invoke<string>("Id");
    // Handled, and still in the client's buffer when the socket drops (acks go once a second):
    // the client sends it again on the new socket, and the server must not run it twice.
    await connection.send("Count");
    await eventually(() => resumeLog.counted, 1);
    const slow = connection.invoke<string>("Slow", 300);

    proxy!.cut();
    // Sent by the server while the socket is down, and by the client before it is back.
    const hub = server!.hubContext(ResumeHub);
    for (const n of [1, 2, 3]) await hub.clients.all.tick(n);
    const during = connection.invoke<string>("Echo", "during");

    expect(await slow).toBe("done");
    expect(await during).toBe("during");
    await eventually(() => ticks, [1, 2, 3]);
    expect(await connection.invoke("Id")).toBe(id);
    expect(resumeLog.counted).toBe(1);
    expect(reconnecting).toBe(false);
    expect(connection.state).toBe("Connected");
    expect(resumeLog.events).toEqual([`connected ${id}`]);
  });

  it("holds calls back while more than its buffer went unacknowledged, and resumes with all of them across a drop", async () => {
    // 12 calls of about 60 bytes, a buffer of 300: half wait for the server's acknowledgements
    // (once a second) when the socket drops, and none may be lost or the connection given up.
    const connection = await start({}, { statefulReconnectBufferSize: 300 });
    let reconnecting = false;
    connection.onReconnecting(() => (reconnecting = true));
    await connection.start();
    const id = await connection.invoke<string>("Id");
    const replies: string[] = [];
    const calls = Array.from({ length: 12 }, (_, i) => connection.invoke<string>("Echo", `call ${i}`).then((reply) => void replies.push(reply)));
    await eventually(() => replies.length >= 3, true);
    proxy!.cut();
    await Promise.all(calls);
    expect(replies).toEqual(Array.from({ length: 12 }, (_, i) => `call ${i}`));
    expect(reconnecting).toBe(false);
    expect(await connection.invoke("Id")).toBe(id);
  });

  it("reconnects as a new connection when the server does not allow stateful reconnect", async () => {
    const connection = await start({ allowStatefulReconnects: false });
    let reconnecting = false;
    connection.onReconnecting(() => (reconnecting = true));
    await connection.start();
    const first = await connection.invoke<string>("Id");
    proxy!.cut();
    // Without stateful reconnect a drop is an ordinary reconnect: a new connection.
    await eventually(() => reconnecting, true);
    await eventually(() => connection.state, "Connected");
    expect(await connection.invoke<string>("Id")).not.toBe(first);
  });

  it("tries to reattach a dropped socket within reattachWindowMs, then starts anew", async () => {
    // By default the last attempt comes 13 s after the drop: within a server's default 15 s.
    expect([...reattachDelaysMs(15_000)]).toEqual([0, 1000, 2000, 5000, 5000]);
    expect([...reattachDelaysMs(4_000)]).toEqual([0, 1000, 2000]);
    expect([...reattachDelaysMs(500)]).toEqual([0]);
    expect([...reattachDelaysMs(Number.NaN)]).toEqual([0]);
    const forever = reattachDelaysMs(Number.POSITIVE_INFINITY);
    expect(Array.from({ length: 6 }, () => forever.next().value)).toEqual([0, 1000, 2000, 5000, 5000, 5000]);

    /** Cuts the socket and refuses the attempts at 0 and 1 s; the next (at 3 s) would get through. */
    const outage = async (connection: HubConnection) => {
      await connection.start();
      const id = await connection.invoke<string>("Id");
      let reconnecting = false;
      connection.onReconnecting(() => (reconnecting = true));
      proxy!.refuse(true);
      proxy!.cut();
      await eventually(() => proxy!.refused, 2);
      proxy!.refuse(false);
      return { id, reconnecting: () => reconnecting };
    };

    // A window of 4 s: the attempt at 3 s resumes the connection.
    const within4s = await start({}, { reattachWindowMs: 4_000, logger: silentLogger });
    const resumed = await outage(within4s);
    expect(await within4s.invoke<string>("Id")).toBe(resumed.id); // held until the socket is back
    expect(resumed.reconnecting()).toBe(false);
    await within4s.stop();
    await running!.close();
    resetResumeLog();

    // A window of 1.5 s: no attempt after the one at 1 s, so the client starts a new connection.
    const within1s = await start({}, { reattachWindowMs: 1_500, logger: silentLogger });
    const started = await outage(within1s);
    await eventually(() => started.reconnecting(), true);
    await eventually(() => within1s.state, "Connected");
    expect(await within1s.invoke<string>("Id")).not.toBe(started.id);
  });

  it("ends the connection on the server when stopped while a socket reattaches, instead of leaving it to wait", async () => {
    // Only the client's word (the socket closed cleanly) ends the connection before this long.
    const connection = await start({ disconnectTimeout: 60_000 });
    await connection.start();
    const id = await connection.invoke<string>("Id");
    // The reattaching socket opens (the server hands it the connection), and is held until stop().
    const resumable = (connection as unknown as { link: { resumable: { reopen(events: unknown): Promise<unknown> } } }).link.resumable;
    const reopen = resumable.reopen.bind(resumable);
    let opened!: () => void;
    const socketOpened = new Promise<void>((resolve) => (opened = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    resumable.reopen = async (events) => {
      const transport = await reopen(events);
      opened();
      await released;
      return transport;
    };
    proxy!.cut();
    await within(socketOpened, "the reattaching socket to open");
    await connection.stop();
    release();
    await eventually(() => resumeLog.events, [`connected ${id}`, "disconnected cleanly"]);
  });

  it("reconnects as a new connection at once when the server has forgotten the old one", async () => {
    const connection = await start({ statefulReconnectBufferSize: 200 });
    let reconnecting = false;
    connection.onReconnecting(() => (reconnecting = true));
    await connection.start();
    const first = await connection.invoke<string>("Id");
    // The reply outgrows the server's buffer: the server ends the connection on the drop.
    expect(await connection.invoke<string>("Echo", "x".repeat(500))).toHaveLength(500);
    const before = running!.requests.length;
    proxy!.cut();
    await eventually(() => reconnecting, true);
    await eventually(() => connection.state, "Connected");
    expect(await connection.invoke<string>("Id")).not.toBe(first);
    expect(resumeLog.events.slice(1, 2)).toEqual(["disconnected with an error"]);
    // The new socket was refused with 404, so the client negotiated a new connection instead
    // of trying the rest of its reattach schedule (four attempts over 8 s). A second attempt is
    // allowed: the server may not have seen the cut yet when the first arrived (409).
    const after = running!.requests.slice(before);
    const negotiated = after.indexOf("negotiate");
    expect(negotiated).toBeGreaterThan(0);
    expect(negotiated).toBeLessThanOrEqual(2);
    expect(after.slice(0, negotiated).every((request) => request.startsWith("upgrade "))).toBe(true);
  });
});

describe("acknowledgements lost with a dropped socket", () => {
  let running: ResumeServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await client?.stop();
    await running?.close();
    client = running = undefined;
    resetResumeLog();
  });

  it("are sent again on the new socket, so sends held back for room are let through", async () => {
    running = await startResumeServer({ keepAliveInterval: 60_000 });
    const { proxy } = running;
    // Room for three calls: the fourth waits for the server's acknowledgement.
    client = new HubConnection(`${proxy.url}/resume`, { transports: ["WebSockets"], statefulReconnect: true, reconnect: false, statefulReconnectBufferSize: 100 });
    await client.start();
    // The server gets the calls, but its acknowledgement of them is lost on the way.
    const hole = proxy.blackHole({ only: "fromServer" });
    for (let i = 0; i < 3; i++) await client.send("Count");
    await eventually(() => resumeLog.counted, 3);
    await eventually(() => hole.swallowed.fromServer > 0, true); // the Ack, the server's only message
    const fourth = client.send("Count");
    proxy.cut();
    // The client sends the three again on its new socket (the server drops them: handled
    // already) and waits to hear they arrived before the fourth may go.
    await within(fourth, "the fourth call to be let through");
    await eventually(() => resumeLog.counted, 4);
    expect(client.state).toBe("Connected");
  });
});
