import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { InvocationRate } from "../../src/dispatch/invocation-rate.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubOptions } from "../../src/index.js";
import { officialClients } from "../support/official-clients.js";
import { startLoggedHub, type LoggedHub } from "../support/logged-hub.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { waitFor } from "../support/wait.js";

/** When each call started, by the server's clock, in the order they started. */
let starts: Array<{ value: number; at: number }> = [];

@HubClass()
class RatedHub extends Hub<unknown> {
  @HubMethod("Stamp")
  stamp(value: number): number {
    starts.push({ value, at: performance.now() });
    return value;
  }

  /** Answers a turn of the event loop later: calls run side by side, and one ending drains the queue. */
  @HubMethod("Later")
  async later(value: number): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.stamp(value);
  }
}

const call = (id: number, target = "Stamp") => `{"type":1,"invocationId":"${id}","target":"${target}","arguments":[${id}]}${RS}`;
const send = (value: number, padding = "") => `{"type":1,"target":"Stamp","arguments":[${value}],"padding":"${padding}"}${RS}`;

/**
 * What the token bucket guarantees, whatever the host's speed: the k-th call (from 0) starts no
 * sooner than `(k - burst + 1) / perSecond` seconds after the first, which started with a full
 * bucket. A late timer only makes starts later, so this cannot fail on a slow machine.
 */
function expectPaced(at: number[], perSecond: number, burst: number): void {
  const first = at[0]!;
  at.forEach((t, k) => {
    if (k >= burst) expect(t - first, `call ${k}`).toBeGreaterThanOrEqual(((k - burst + 1) * 1000) / perSecond - 1);
  });
}

describe("InvocationRate", () => {
  it("starts full, refills at its rate up to its burst, and says how long until the next", () => {
    const rate = new InvocationRate(10, 3, 1000);
    expect([rate.take(1000), rate.take(1000), rate.take(1000), rate.take(1000)]).toEqual([true, true, true, false]);
    expect(rate.msUntilNext(1000)).toBe(100);
    expect(rate.msUntilNext(1060)).toBe(40);
    expect(rate.take(1099)).toBe(false);
    expect(rate.take(1100)).toBe(true);
    expect(rate.take(1100)).toBe(false);
    // A long quiet spell fills the bucket to its burst, no more.
    expect(rate.msUntilNext(60_000)).toBe(0);
    expect([1, 2, 3, 4].map(() => rate.take(60_000))).toEqual([true, true, true, false]);
  });

  it("is not moved by a clock read earlier than the last", () => {
    const rate = new InvocationRate(1, 1, 5000);
    expect(rate.take(5000)).toBe(true);
    expect(rate.take(4000)).toBe(false);
    expect(rate.msUntilNext(5500)).toBe(500);
  });

  it("waits a fraction of a millisecond as a whole one, never less", () => {
    const rate = new InvocationRate(3, 1, 0);
    rate.take(0);
    expect(rate.msUntilNext(0)).toBe(334);
    expect(rate.take(334)).toBe(true);
  });
});

describe("maximumInvocationsPerSecondPerClient", () => {
  let server: HubServer | undefined;
  let logged: LoggedHub | undefined;
  const clients = officialClients();
  const overTransports: HubConnection[] = [];
  afterEach(async () => {
    await clients.stopAll();
    await Promise.all(overTransports.splice(0).map((client) => client.stop()));
    await logged?.stop();
    await server?.close();
    server = logged = undefined;
  });

  async function start(options: HubOptions): Promise<string> {
    starts = [];
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/rated", RatedHub, options);
    return `${(await server.listen()).url}/rated`;
  }

  it("slows a client that calls faster down to the rate: every call answered, in order, none refused", async () => {
    const url = await start({ maximumInvocationsPerSecondPerClient: 20, invocationBurstPerClient: 5 });
    const client = await RawJsonClient.open(url);
    client.sendTogether(Array.from({ length: 25 }, (_, i) => call(i)));
    await client.waitFor(() => client.messages().length === 25, "every completion");
    expect(client.messages().map((m) => [m.type, m.result, m.error])).toEqual(Array.from({ length: 25 }, (_, i) => [3, i, undefined]));
    expect(starts.map((s) => s.value)).toEqual([...Array(25).keys()]);
    expectPaced(starts.map((s) => s.at), 20, 5);
    client.terminate();
  });

  it("counts every invocation: sends without a result and calls of unknown methods too", async () => {
    const url = await start({ maximumInvocationsPerSecondPerClient: 10, invocationBurstPerClient: 2 });
    const client = await RawJsonClient.open(url);
    const startedAt = performance.now();
    // Two unknown methods take the burst, four sends without a result the next 400 ms.
    client.sendTogether([call(100, "Nope"), call(101, "Nope"), send(0), send(1), send(2), send(3), call(4)]);
    await client.waitFor(() => client.messages().length === 3, "two errors and the last call's result");
    expect(client.messages().map((m) => m.invocationId)).toEqual(["100", "101", "4"]);
    expect(starts.map((s) => s.value)).toEqual([0, 1, 2, 3, 4]);
    expect(starts[4]!.at - startedAt).toBeGreaterThanOrEqual(500 - 1);
    client.terminate();
  });

  it("a flood stops being read once the queue is full, while another client is served", async () => {
    const url = await start({ maximumInvocationsPerSecondPerClient: 20, invocationBurstPerClient: 5, maximumQueuedInvocationsPerClient: 4 });
    const flood = await RawJsonClient.open(url);
    // 30 MB of sends without a result: more than the kernel's socket buffers hold.
    const padding = "x".repeat(1000);
    for (let i = 0; i < 30_000; i++) flood.send(send(i, padding));
    await waitFor(() => starts.length >= 10, "the flood's first calls to run");
    // The server read a few calls and left the rest in the flood's socket.
    expect(flood.socket.bufferedAmount).toBeGreaterThan(10_000_000);
    const other = await clients.connect(url);
    expect(await other.invoke("Stamp", -1)).toBe(-1);
    const flooded = starts.filter((s) => s.value >= 0);
    expect(flooded.length).toBeLessThan(100);
    expect(flooded.map((s) => s.value)).toEqual([...Array(flooded.length).keys()]);
    expectPaced(flooded.map((s) => s.at), 20, 5);
    flood.terminate();
  });

  it.each([
    ["WebSockets", HttpTransportType.WebSockets],
    ["Server-Sent Events", HttpTransportType.ServerSentEvents],
    ["long polling", HttpTransportType.LongPolling],
  ])(
    "the official client's calls over %s are paced and all answered",
    async (_name, transport) => {
      const url = await start({ maximumInvocationsPerSecondPerClient: 20, invocationBurstPerClient: 2 });
      const client = new HubConnectionBuilder().withUrl(url, { transport }).configureLogging(LogLevel.None).build();
      overTransports.push(client);
      await client.start();
      expect(await Promise.all([0, 1, 2, 3, 4, 5].map((i) => client.invoke("Stamp", i)))).toEqual([0, 1, 2, 3, 4, 5]);
      expect(starts.map((s) => s.value)).toEqual([0, 1, 2, 3, 4, 5]);
      expectPaced(starts.map((s) => s.at), 20, 2);
    },
  );

  it("reports the calls held back once a period, each counted once", async () => {
    starts = [];
    const hubOptions = { maximumInvocationsPerSecondPerClient: 10, invocationBurstPerClient: 2, maximumParallelInvocationsPerClient: 2 };
    logged = await startLoggedHub("/rated", RatedHub, { level: "warn", hubOptions });
    const { client, lines } = logged;
    // The burst's two run side by side; as each ends, the next in line is found waiting for the rate again.
    expect(await Promise.all([0, 1, 2, 3, 4].map((i) => client.invoke("Later", i)))).toEqual([0, 1, 2, 3, 4]);
    await logged.stop();
    logged = undefined;
    const reports = lines.filter((l) => l.message.startsWith("Invocations waited their turn"));
    expect(reports.map((l) => l.level)).toEqual(["warn", "warn"]);
    expect(reports.map((l) => l.fields)).toEqual([
      { hub: "RatedHub", heldBack: 1, maximumInvocationsPerSecondPerClient: 10 },
      { hub: "RatedHub", heldBack: 2, maximumInvocationsPerSecondPerClient: 10 },
    ]);
  });

  it("is off by default, and checked when mapped", async () => {
    const url = await start({});
    const client = await RawJsonClient.open(url);
    client.sendTogether(Array.from({ length: 50 }, (_, i) => call(i)));
    await client.waitFor(() => client.messages().length === 50, "every completion");
    expect(server!.hubRuntimeAt("/rated")!.invocationsHeldBack.count).toBe(0);
    client.terminate();
    for (const bad of [0, -1, Number.NaN]) {
      expect(() => server!.mapHub(`/bad${bad}`, RatedHub, { maximumInvocationsPerSecondPerClient: bad })).toThrow(/maximumInvocationsPerSecondPerClient/);
    }
    for (const bad of [0, 1.5]) {
      expect(() => server!.mapHub(`/burst${bad}`, RatedHub, { maximumInvocationsPerSecondPerClient: 5, invocationBurstPerClient: bad })).toThrow(/invocationBurstPerClient/);
    }
  });
});
