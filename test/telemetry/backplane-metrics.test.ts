import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import type { HubServer } from "../../src/index.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { waitFor, within } from "../support/wait.js";
import { valueOf } from "./otel-sdk.js";
import { scaledOutWithMeter } from "./scaled-out.js";

const attributes = { "hubwire.hub": "TelemetryHub" };

describe("backplane metrics", () => {
  let redis: OwnRedis | undefined;
  const servers: HubServer[] = [];
  let client: HubConnection | undefined;
  afterEach(async () => {
    await client?.stop();
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await redis?.stop();
  });

  async function scaledOut(url: string) {
    const { server, context, hub, metrics } = await scaledOutWithMeter(url, `telemetry-${process.pid}`, servers);
    const value = async (name: string) => valueOf((await metrics()).get(name), attributes);
    return { server, context, url: hub, value };
  }

  it("reports what one server published, what another received, and the outbox while the backplane is away", async () => {
    redis = await startOwnRedis();
    const a = await scaledOut(redis.url);
    const b = await scaledOut(redis.url);
    client = new HubConnectionBuilder().withUrl(b.url).configureLogging(LogLevel.None).build();
    const notices: string[] = [];
    const first = new Promise<void>((resolve) => client!.on("notice", (text: string) => (notices.push(text), resolve())));
    await client.start();

    await a.context.clients.all.notice("from a");
    await within(first, "the notice from the other server");
    await waitFor(async () => (await a.value("hubwire.backplane.messages.published")) === 1, "server a to count its publish");
    expect(await b.value("hubwire.backplane.messages.received")).toBe(1);
    expect(await a.value("hubwire.backplane.messages.received")).toBe(0); // its own send came back: not counted
    expect(await b.value("hubwire.backplane.messages.published")).toBe(0);
    expect(await a.value("hubwire.backplane.outbox.messages")).toBe(0);
    expect(await a.value("hubwire.backplane.outbox.lag")).toBe(0);

    await redis.stop();
    const started = Date.now();
    await a.context.clients.all.notice("while redis is away");
    await waitFor(async () => (await a.value("hubwire.backplane.outbox.messages")) === 1, "the send to wait in the outbox");
    expect(await a.value("hubwire.backplane.outbox.size")).toBeGreaterThan(0);
    await waitFor(async () => (await a.value("hubwire.backplane.outbox.lag")) > 0.05, "the outbox's lag to grow");
    expect(await a.value("hubwire.backplane.outbox.lag")).toBeLessThanOrEqual((Date.now() - started) / 1000 + 0.01);
  });
});
