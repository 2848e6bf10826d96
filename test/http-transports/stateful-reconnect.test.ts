import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection, type IHubProtocol } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { HubServer, silentLogger, type HubServerOptions } from "../../src/index.js";
import { resetResumeLog, ResumeHub, resumeLog, startResumeServer, type ResumeServer } from "../support/resume-hub.js";
import { eventually, waitFor } from "../support/wait.js";
import { startMeter, valueOf } from "../telemetry/otel-sdk.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const RS = "\u001e";
describe("stateful reconnect", () => {
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

  /** A server behind a proxy that can cut its connections, and an official client that asks for stateful reconnect. */
  async function start(options: HubServerOptions = {}, protocol?: IHubProtocol): Promise<HubConnection> {
    ({ server, proxy } = running = await startResumeServer(options));
    const builder = new HubConnectionBuilder()
      .withUrl(`${proxy.url}/resume`, { transport: HttpTransportType.WebSockets })
      .withStatefulReconnect()
      .configureLogging(LogLevel.None);
    client = (protocol ? builder.withHubProtocol(protocol) : builder).build();
    return client;
  }

  const negotiate = async (url: string, query: string) =>
    (await (await fetch(`${url}/resume/negotiate?negotiateVersion=1${query}`, { method: "POST" })).json()) as Record<string, unknown>;

  it("is offered at negotiate only when the client asks and the hub allows it", async () => {
    await start();
    expect((await negotiate(proxy!.url, "&useStatefulReconnect=true")).useStatefulReconnect).toBe(true);
    expect((await negotiate(proxy!.url, "")).useStatefulReconnect).toBeUndefined();
    const plain = new HubServer({ logger: silentLogger });
    plain.mapHub("/resume", ResumeHub);
    const { url } = await plain.listen();
    expect((await negotiate(url, "&useStatefulReconnect=true")).useStatefulReconnect).toBeUndefined();
    await plain.close();
  });

  it.each([
    ["JSON", undefined],
    ["MessagePack", new MessagePackHubProtocol()],
  ])("keeps the connection across a dropped WebSocket: nothing is lost or handled twice (%s)", async (_name, protocol) => {
    const connection = await start({}, protocol);
    const ticks: number[] = [];
    connection.on("tick", (n: number) => ticks.push(n));
    let reconnecting = false;
    connection.onreconnecting(() => (reconnecting = true));
    await connection.start();
    const id = (await connection.invoke("Id")) as string;
    // Handled, and still in the client's buffer when the socket drops (acks go once a second):
    // the client sends it again after reconnecting, and the server must not run it twice.
    await connection.send("Count");
    await eventually(() => resumeLog.counted, 1);
    const slow = connection.invoke("Slow", 300);

    proxy!.cut();
    // Sent while the socket is down or dying: kept, and replayed on the new socket.
    const hub = server!.hubContext(ResumeHub);
    for (const n of [1, 2, 3]) await hub.clients.all.tick(n);

    expect(await slow).toBe("done");
    await eventually(() => ticks, [1, 2, 3]);
    expect(await connection.invoke("Id")).toBe(id);
    expect(await connection.invoke("Echo", "after")).toBe("after");
    expect(resumeLog.counted).toBe(1);
    expect(reconnecting).toBe(false);
    expect(connection.state).toBe(HubConnectionState.Connected);
    expect(resumeLog.events).toEqual([`connected ${id}`]);
  });

  it("ends the connection when its client does not come back within the disconnect timeout", async () => {
    const connection = await start({ disconnectTimeout: 300 });
    const closed = new Promise<Error | undefined>((resolve) => connection.onclose(resolve));
    await connection.start();
    proxy!.refuse(true);
    proxy!.cut();
    await closed;
    await eventually(() => resumeLog.events.at(-1), "disconnected with an error");
  });

  it("ends instead of resuming once more than statefulReconnectBufferSize went unacknowledged", async () => {
    const connection = await start({ statefulReconnectBufferSize: 200 });
    const closed = new Promise<Error | undefined>((resolve) => connection.onclose(resolve));
    await connection.start();
    expect(await connection.invoke("Echo", "x".repeat(500))).toHaveLength(500);
    proxy!.cut();
    await closed; // the server forgot the connection: the client's reconnect gets 404
    await eventually(() => resumeLog.events.at(-1), "disconnected with an error");
    expect(connection.state).toBe(HubConnectionState.Disconnected);
  });

  it("ends a waiting connection at once when what its client missed outgrows the buffer, and counts it as dropped for that", async () => {
    const meter = startMeter();
    const waiting = async () => valueOf((await meter.metrics()).get("hubwire.server.suspended_connections"), { "hubwire.hub": "ResumeHub" });
    const connection = await start({ statefulReconnectBufferSize: 200, telemetry: { meterProvider: meter.meterProvider } });
    const closed = new Promise<Error | undefined>((resolve) => connection.onclose(resolve));
    await connection.start();
    proxy!.refuse(true);
    proxy!.cut();
    // Seen from a later turn than the sockets closed, when the server has handled the drop too.
    await waitFor(() => running!.openSockets() === 0, "the server to see the drop");
    expect(resumeLog.events).toHaveLength(1); // suspended, not ended
    expect(await waiting()).toBe(1);
    await server!.hubContext(ResumeHub).clients.all.note("x".repeat(500));
    // Long before the 15 s disconnect timeout: resuming would now leave a gap.
    await eventually(() => resumeLog.events.at(-1), "disconnected with an error");
    expect(await waiting()).toBe(0);
    expect(resumeLog.lastError).toMatchObject({ code: "ERR_STATEFUL_BUFFER_FULL" });
    expect(resumeLog.lastError?.message).toContain("than its stateful reconnect buffer holds (statefulReconnectBufferSize)");
    const dropped = (await meter.metrics()).get("hubwire.server.connections.dropped");
    expect(valueOf(dropped, { "hubwire.drop.reason": "stateful_buffer_full", "signalr.transport": "web_sockets" })).toBe(1);
    await closed;
  });

  it("closes with an error a client whose Sequence claims messages it never sent", async () => {
    await start({ enableDetailedErrors: true });
    const { connectionToken } = await negotiate(proxy!.url, "&useStatefulReconnect=true");
    const socket = new WebSocket(`${proxy!.url.replace("http", "ws")}/resume?id=${String(connectionToken)}`);
    const frames: string[] = [];
    socket.on("message", (data) => frames.push(data.toString()));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(`{"protocol":"json","version":2}${RS}{"type":9,"sequenceId":5}${RS}`);
    await new Promise((resolve) => socket.once("close", resolve));
    expect(frames.join("")).toContain("Sequence ID greater than amount of messages we've received.");
  });
});
