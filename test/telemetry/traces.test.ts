import { HubConnectionBuilder, LogLevel, type HubConnection as OfficialConnection } from "@microsoft/signalr";
import { context, createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HubConnection, type HubConnectionOptions } from "../../client/index.js";
import { traceContext } from "../../client/opentelemetry.js";
import { messagePack } from "../../client/msgpack.js";
import { HubServer, silentLogger } from "../../src/index.js";
import { waitFor } from "../support/wait.js";
import { startSdk, type OpenTelemetrySdk } from "./otel-sdk.js";
import { TelemetryHub } from "./telemetry-hub.js";

const hub = "TelemetryHub";

describe("traces", () => {
  let sdk: OpenTelemetrySdk;
  let server: HubServer;
  let url: string;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    sdk = startSdk();
    server = new HubServer({ logger: silentLogger, telemetry: { meterProvider: sdk.meterProvider, tracerProvider: sdk.tracerProvider } });
    server.mapHub("/telemetry", TelemetryHub);
    url = `${(await server.listen()).url}/telemetry`;
  });
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
    await server.close();
    await sdk.shutdown();
  });

  async function official(): Promise<OfficialConnection> {
    const client = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None).build();
    stops.push(() => client.stop());
    await client.start();
    return client;
  }

  async function hubwire(options: HubConnectionOptions = {}): Promise<HubConnection> {
    const client = new HubConnection(url, { reconnect: false, ...options });
    client.on("notice", () => {});
    stops.push(() => client.stop());
    await client.start();
    return client;
  }

  const spans = (name: string): ReadableSpan[] => sdk.spans.getFinishedSpans().filter((s) => s.name === `${hub}/${name}`);
  const only = (name: string): ReadableSpan => {
    const found = spans(name);
    expect(found, `spans named ${hub}/${name}`).toHaveLength(1);
    return found[0]!;
  };

  it("makes a server span per call with ASP.NET Core's attributes, and one for onConnected and onDisconnected", async () => {
    const client = await official();
    expect(await client.invoke("Echo", "hi")).toBe("hi");
    await expect(client.invoke("Fail")).rejects.toThrow();
    await client.stop();
    await waitFor(() => spans("OnDisconnectedAsync").length === 1, "the onDisconnected span");

    const echo = only("Echo");
    expect(echo.kind).toBe(SpanKind.SERVER);
    expect(echo.instrumentationScope.name).toBe("hubwire");
    expect(echo.attributes).toEqual({ "rpc.system": "signalr", "rpc.service": hub, "rpc.method": "Echo" });
    expect(echo.status.code).toBe(SpanStatusCode.UNSET);
    expect(echo.parentSpanContext).toBeUndefined(); // the official JS client sends no trace context

    const fail = only("Fail");
    expect(fail.status.code).toBe(SpanStatusCode.ERROR);
    expect(fail.attributes).toEqual({ "rpc.system": "signalr", "rpc.service": hub, "rpc.method": "Fail", "error.type": "TypeError" });

    for (const lifecycle of ["OnConnectedAsync", "OnDisconnectedAsync"]) {
      const span = only(lifecycle);
      expect(span.kind).toBe(SpanKind.INTERNAL);
      expect(span.attributes).toEqual({ "rpc.system": "signalr", "rpc.service": hub, "rpc.method": lifecycle });
    }
    expect(echo.spanContext().traceId).not.toBe(fail.spanContext().traceId);
  });

  for (const protocol of ["json", "messagepack"] as const) {
    it(`joins the trace of the hubwire client's caller through the invocation's headers (${protocol})`, async () => {
      const client = await hubwire({ invocationHeaders: traceContext, ...(protocol === "messagepack" ? { protocol: messagePack } : {}) });
      const tracer = sdk.tracerProvider.getTracer("browser");
      // A trace that began elsewhere (the page's own parent), with vendor state to carry along.
      const remote = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        traceFlags: TraceFlags.SAMPLED,
        traceState: createTraceState("vendor=opaque"),
        isRemote: true,
      });
      const caller = await context.with(remote, () =>
        tracer.startActiveSpan("button click", async (span) => {
          await client.invoke("Echo", "hi");
          span.end();
          return span;
        }),
      );

      const echo = only("Echo");
      expect(echo.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
      expect(echo.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
      expect(echo.parentSpanContext?.isRemote).toBe(true);
      expect(echo.spanContext().traceState?.get("vendor")).toBe("opaque");
    });
  }

  it("starts a trace of its own for a call whose client sends no trace context", async () => {
    const client = await hubwire();
    const caller = await sdk.tracerProvider.getTracer("app").startActiveSpan("caller", async (span) => {
      await client.invoke("Echo", "hi");
      span.end();
      return span;
    });
    const echo = only("Echo");
    expect(echo.parentSpanContext).toBeUndefined();
    expect(echo.spanContext().traceId).not.toBe(caller.spanContext().traceId);
  });

  it("records the hub's sends to clients as events of the call's span, and a stream's span lasts as long as the stream", async () => {
    const client = await hubwire({ invocationHeaders: traceContext });
    await client.invoke("Notify", "hello");
    const notify = only("Notify");
    expect(notify.events.map((e) => [e.name, e.attributes])).toEqual([
      ["hubwire.send", { "hubwire.send.target": "connections", "hubwire.send.method": "notice" }],
      ["hubwire.send", { "hubwire.send.target": "all", "hubwire.send.method": "notice" }],
    ]);

    const items: number[] = [];
    await new Promise<void>((resolve, reject) => client.stream<number>("Count", 3).subscribe({ next: (n) => items.push(n), complete: resolve, error: reject }));
    expect(items).toEqual([1, 2, 3]);
    await waitFor(() => spans("Count").length === 1, "the stream's span to end");
    expect(only("Count").status.code).toBe(SpanStatusCode.UNSET);
  });
});
