import { HttpTransportType, HubConnectionBuilder, LogLevel, Subject, type HubConnection } from "@microsoft/signalr";
import { metrics, trace } from "@opentelemetry/api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { HubServer, silentLogger, type HubOptions, type HubServerOptions } from "../../src/index.js";
import { LogWriter } from "../../src/logger.js";
import { createTelemetry } from "../../src/telemetry/create-telemetry.js";
import { authenticateTestToken, bearer, negotiateAs, token } from "../abuse/guarded-hub.js";
import { send } from "../http-transports/http-client.js";
import { waitFor, within } from "../support/wait.js";
import { histogramAt, startSdk, valueOf, type OpenTelemetrySdk } from "./otel-sdk.js";
import { releaseHeld, TelemetryHub } from "./telemetry-hub.js";

const RS = "\x1e";
const hub = "TelemetryHub";

describe("metrics", () => {
  let sdk: OpenTelemetrySdk;
  let server: HubServer | undefined;
  const clients: HubConnection[] = [];
  const sockets: WebSocket[] = [];

  beforeEach(() => {
    sdk = startSdk();
  });
  afterEach(async () => {
    releaseHeld();
    for (const socket of sockets.splice(0)) socket.terminate();
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await server?.close();
    server = undefined;
    await sdk.shutdown();
  });

  async function start(options: HubServerOptions = {}, hubOptions: HubOptions = {}): Promise<string> {
    server = new HubServer({
      logger: silentLogger,
      telemetry: { meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider },
      ...options,
    });
    server.mapHub("/telemetry", TelemetryHub, hubOptions);
    const { url } = await server.listen();
    return `${url}/telemetry`;
  }

  async function connect(url: string, transport = HttpTransportType.WebSockets): Promise<HubConnection> {
    const client = new HubConnectionBuilder().withUrl(url, transport).configureLogging(LogLevel.None).build();
    clients.push(client);
    await client.start();
    return client;
  }

  /** A raw WebSocket that has completed the JSON handshake. */
  async function rawSocket(url: string): Promise<WebSocket> {
    const socket = new WebSocket(url.replace(/^http/, "ws"));
    sockets.push(socket);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const handshake = new Promise((resolve) => socket.once("message", resolve));
    socket.send(`{"protocol":"json","version":1}${RS}`);
    await within(handshake, "the handshake answer");
    return socket;
  }

  async function metric(name: string) {
    return (await sdk.metrics()).get(name);
  }

  it("reports the SignalR conventions' connection metrics: names, units, attributes, advised buckets", async () => {
    const url = await start();
    const began = performance.now();
    const webSocket = await connect(url);
    const longPolling = await connect(url, HttpTransportType.LongPolling);

    const active = await metric("signalr.server.active_connections");
    expect(active?.descriptor.unit).toBe("{connection}");
    expect(valueOf(active, { "signalr.transport": "web_sockets" })).toBe(1);
    expect(valueOf(active, { "signalr.transport": "long_polling" })).toBe(1);

    await webSocket.stop();
    await longPolling.stop();
    await waitFor(async () => {
      const now = await metric("signalr.server.active_connections");
      return valueOf(now, { "signalr.transport": "web_sockets" }) === 0 && valueOf(now, { "signalr.transport": "long_polling" }) === 0;
    }, "both connections to end");
    const elapsed = (performance.now() - began) / 1000;

    const duration = await metric("signalr.server.connection.duration");
    expect(duration?.descriptor.unit).toBe("s");
    for (const transport of ["web_sockets", "long_polling"]) {
      const point = histogramAt(duration, { "signalr.connection.status": "normal_closure", "signalr.transport": transport });
      expect(point?.count).toBe(1);
      expect(point!.sum).toBeGreaterThan(0);
      expect(point!.sum).toBeLessThanOrEqual(elapsed + 0.01);
      expect(point!.buckets.boundaries).toEqual([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]);
    }
  });

  it("counts messages and their bytes in and out by protocol, exactly", async () => {
    const url = await start();
    const socket = await rawSocket(url);
    const before = await sdk.metrics();
    const call = `{"type":1,"invocationId":"1","target":"Echo","arguments":["héllo"]}${RS}`;
    const reply = new Promise<string>((resolve) => socket.once("message", (data) => resolve(String(data))));
    socket.send(call);
    const answer = await within(reply, "the Echo completion");
    expect(answer).toContain('"result":"héllo"');
    const after = await sdk.metrics();

    const json = { "hubwire.protocol": "json" };
    const delta = (name: string) => valueOf(after.get(name), json) - valueOf(before.get(name), json);
    expect(delta("hubwire.server.messages.received")).toBe(1);
    expect(delta("hubwire.server.bytes.received")).toBe(Buffer.byteLength(call));
    expect(delta("hubwire.server.messages.sent")).toBe(1);
    expect(delta("hubwire.server.bytes.sent")).toBe(Buffer.byteLength(answer));
    expect(after.get("hubwire.server.bytes.sent")?.descriptor.unit).toBe("By");
    expect(after.get("hubwire.server.messages.sent")?.descriptor.unit).toBe("{message}");
  });

  it("measures every call by hub, method and outcome, and counts streams and uploads while they run", async () => {
    const url = await start();
    const client = await connect(url);
    expect(await client.invoke("Echo", "hi")).toBe("hi");
    await expect(client.invoke("Fail")).rejects.toThrow();
    await expect(client.invoke("Refuse")).rejects.toThrow("not for you");
    const items: number[] = [];
    await new Promise<void>((resolve, reject) =>
      client.stream<number>("Count", 3).subscribe({ next: (n) => items.push(n), complete: resolve, error: reject }),
    );
    expect(items).toEqual([1, 2, 3]);

    const streams = { "hubwire.hub": hub };
    const held = new Promise<void>((resolve, reject) => client.stream("Held").subscribe({ next: () => resolve(), complete: () => {}, error: reject }));
    await within(held, "the held stream's first item");
    expect(valueOf(await metric("hubwire.server.active_streams"), streams)).toBe(1);
    releaseHeld();
    await waitFor(async () => valueOf(await metric("hubwire.server.active_streams"), streams) === 0, "the stream to end");

    // Stopped by its reader while the producer waits: over for the server at once.
    const parked = new Promise<{ dispose(): void }>((resolve, reject) => {
      const subscription = client.stream("Held").subscribe({ next: () => resolve(subscription), complete: () => {}, error: reject });
    });
    (await within(parked, "the second held stream's first item")).dispose();
    await waitFor(async () => valueOf(await metric("hubwire.server.active_streams"), streams) === 0, "the cancelled stream to end");
    await new Promise<void>((resolve) => client.stream("Broken").subscribe({ next: () => {}, complete: resolve, error: () => resolve() }));

    const numbers = new Subject<number>();
    const sum = client.invoke<number>("Sum", numbers);
    numbers.next(1);
    await waitFor(async () => valueOf(await metric("hubwire.server.active_uploads"), streams) === 1, "the upload to be counted");
    numbers.next(2);
    numbers.complete();
    expect(await sum).toBe(3);
    await waitFor(async () => valueOf(await metric("hubwire.server.active_uploads"), streams) === 0, "the upload to end");

    const duration = await metric("hubwire.server.invocation.duration");
    expect(duration?.descriptor.unit).toBe("s");
    const call = (method: string, outcome: string, errorType?: string) =>
      histogramAt(duration, {
        "rpc.service": hub,
        "rpc.method": method,
        "hubwire.invocation.outcome": outcome,
        ...(errorType ? { "error.type": errorType } : {}),
      });
    expect(call("Echo", "ok")?.count).toBe(1);
    expect(call("Fail", "error", "TypeError")?.count).toBe(1);
    expect(call("Refuse", "hub_exception", "HubException")?.count).toBe(1);
    expect(call("Count", "ok")?.count).toBe(1);
    expect(call("Held", "ok")?.count).toBe(2);
    expect(call("Broken", "error", "RangeError")?.count).toBe(1);
    expect(call("Sum", "ok")?.count).toBe(1);
    expect(call("Echo", "ok")!.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    expect(duration!.dataPoints).toHaveLength(7);
  });

  it("counts connections dropped for a message too large and for a full send buffer", async () => {
    const url = await start({}, { maximumReceiveMessageSize: 2000, maximumSendBufferSize: 1024 });
    const dropped = async (reason: string) =>
      valueOf(await metric("hubwire.server.connections.dropped"), { "hubwire.drop.reason": reason, "signalr.transport": "web_sockets" });

    const large = await rawSocket(url);
    large.send(`{"type":1,"target":"Echo","arguments":["${"x".repeat(3000)}"]}${RS}`);
    await waitFor(async () => (await dropped("message_too_large")) === 1, "the connection sending too much to be dropped");

    const slow = await rawSocket(url);
    slow.send(`{"type":4,"invocationId":"1","target":"Firehose","arguments":[1024]}${RS}`);
    (slow as unknown as { _socket: { pause(): void } })._socket.pause(); // stop reading
    await waitFor(async () => (await dropped("send_buffer_full")) === 1, "the connection not reading to be dropped", 30_000);
    expect(await dropped("message_too_large")).toBe(1);
    expect((await metric("hubwire.server.connections.dropped"))?.dataPoints).toHaveLength(2);
  });

  it("counts new connections refused past maximumConnections", async () => {
    const url = await start({ maximumConnections: 1 });
    await rawSocket(url);
    expect((await send(`${url}/negotiate?negotiateVersion=1`, "POST")).status).toBe(503);
    expect((await send(`${url}/negotiate?negotiateVersion=1`, "POST")).status).toBe(503);
    const refused = await metric("hubwire.server.connections.refused");
    expect(refused?.descriptor.unit).toBe("{connection}");
    expect(valueOf(refused, { "hubwire.refusal.reason": "maximum_connections" })).toBe(2);
  });

  it("counts a user's connections refused past maximumConnectionsPerUser, by hub", async () => {
    const url = await start({}, { authenticate: authenticateTestToken, maximumConnectionsPerUser: 1 });
    const alice = token("alice");
    const asAlice = () => new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => alice }).configureLogging(LogLevel.None).build();
    const first = asAlice();
    clients.push(first);
    await first.start();
    for (let i = 0; i < 2; i++) await expect(asAlice().start()).rejects.toThrow("Too many connections for this user.");
    const refused = await metric("hubwire.server.connections.refused");
    expect(valueOf(refused, { "hubwire.refusal.reason": "maximum_connections_per_user", "hubwire.hub": hub })).toBe(2);
    expect(refused?.dataPoints).toHaveLength(1);
  });

  it("counts invocations held back by maximumInvocationsPerSecondPerClient, by hub", async () => {
    const url = await start({}, { maximumInvocationsPerSecondPerClient: 10, invocationBurstPerClient: 2 });
    const client = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.WebSockets }).configureLogging(LogLevel.None).build();
    clients.push(client);
    await client.start();
    // Two start at once (the burst); each of the other three waits for the rate.
    expect(await Promise.all([1, 2, 3, 4, 5].map((i) => client.invoke("Echo", String(i))))).toEqual(["1", "2", "3", "4", "5"]);
    const heldBack = await metric("hubwire.server.invocations.held_back");
    expect(heldBack?.descriptor.unit).toBe("{invocation}");
    expect(valueOf(heldBack, { "hubwire.hub": hub })).toBe(3);
  });

  it("counts authentication refreshes by outcome", async () => {
    const url = await start({}, { authenticate: authenticateTestToken, authenticationRefresh: true });
    const alice = token("alice", { expiresAt: Date.now() + 60_000 });
    const named = { "X-SignalR-Connection-Token": await negotiateAs(url, alice) };
    const refresh = (headers: Record<string, string>) => send(`${url}/refresh`, "POST", { headers });
    expect((await refresh({ ...named, ...bearer(alice) })).status).toBe(200);
    expect((await refresh({ ...named, ...bearer(alice) })).status).toBe(200);
    expect((await refresh({ ...named, ...bearer(token("mallory")) })).status).toBe(403);
    expect((await refresh({ "X-SignalR-Connection-Token": "no-such-connection", ...bearer(alice) })).status).toBe(404);
    const refreshes = await metric("hubwire.server.authentication_refreshes");
    expect(refreshes?.descriptor.unit).toBe("{refresh}");
    expect(valueOf(refreshes, { "hubwire.refresh.outcome": "ok" })).toBe(2);
    expect(valueOf(refreshes, { "hubwire.refresh.outcome": "user_changed" })).toBe(1);
    expect(valueOf(refreshes, { "hubwire.refresh.outcome": "connection_not_found" })).toBe(1);
    expect(refreshes?.dataPoints).toHaveLength(3);
  });

  it("tells connections ended by a timeout and by the server's shutdown from normal closures", async () => {
    const url = await start({}, { clientTimeoutInterval: 300, keepAliveInterval: 100 });
    await rawSocket(url); // then silent: timed out
    const status = async (value: string) =>
      histogramAt(await metric("signalr.server.connection.duration"), { "signalr.connection.status": value, "signalr.transport": "web_sockets" })?.count ?? 0;
    await waitFor(async () => (await status("timeout")) === 1, "the silent client to time out");

    await connect(url);
    await server!.close();
    expect(await status("app_shutdown")).toBe(1);
    expect(await status("normal_closure")).toBe(0);
  });
});

describe("telemetry without an SDK", () => {
  it("does nothing while no SDK is registered, and reports to the global providers once one is", async () => {
    expect(createTelemetry(undefined, LogWriter.for(silentLogger))).toBeUndefined();
    const sdk = startSdk();
    try {
      expect(createTelemetry(false, LogWriter.for(silentLogger))).toBeUndefined();
      metrics.setGlobalMeterProvider(sdk.meterProvider);
      trace.setGlobalTracerProvider(sdk.tracerProvider);
      const server = new HubServer({ logger: silentLogger });
      server.mapHub("/telemetry", TelemetryHub);
      const { url } = await server.listen();
      const client = new HubConnectionBuilder().withUrl(`${url}/telemetry`).configureLogging(LogLevel.None).build();
      await client.start();
      await client.invoke("Echo", "hi");
      await client.stop();
      await server.close();
      const duration = (await sdk.metrics()).get("hubwire.server.invocation.duration");
      expect(histogramAt(duration, { "rpc.service": hub, "rpc.method": "Echo", "hubwire.invocation.outcome": "ok" })?.count).toBe(1);
      expect(sdk.spans.getFinishedSpans().map((s) => s.name)).toContain(`${hub}/Echo`);
    } finally {
      metrics.disable();
      trace.disable();
      await sdk.shutdown();
    }
  });
});
