import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { MeterProvider } from "@opentelemetry/sdk-metrics";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubOptions, type Logger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";
import { startMeter, valueOf } from "../telemetry/otel-sdk.js";
import { negotiate, RS, send } from "./http-client.js";

@HubClass()
class PlainHub extends Hub {
  @HubMethod("Noop")
  noop(): void {}
}

/** The status a long-polling client's first poll gets: 200 for a connection that starts, 404 for one dropped. */
async function firstPoll(hub: string, token: string): Promise<number> {
  return (await send(`${hub}?id=${encodeURIComponent(token)}`, "GET")).status;
}

/** The status a WebSocket's upgrade for `token` gets: 101 opens it (and it is closed again). */
function upgrade(hub: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${hub.replace("http", "ws")}?id=${encodeURIComponent(token)}`);
    socket.once("open", () => {
      socket.terminate();
      resolve(101);
    });
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", reject);
  });
}

/**
 * A client that only negotiates must not make the server hold every connection it asked for
 * until `disconnectTimeout`: past `maximumNegotiatedConnections`, the one that waited longest is
 * dropped, and an operator hears how many were.
 */
describe("negotiated connections waiting for their transport", () => {
  let servers: HubServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
  });

  async function start(options: HubOptions & { logger?: Logger; backplane?: RedisBackplane; meterProvider?: MeterProvider }): Promise<string> {
    const { logger = silentLogger, backplane, meterProvider, ...hubOptions } = options;
    // Long-polling clients that never come back for their Close are not waited for long.
    const server = new HubServer({
      logger,
      closeTimeout: 200,
      ...(backplane ? { backplane } : {}),
      ...(meterProvider ? { telemetry: { meterProvider } } : {}),
    });
    servers.push(server);
    server.mapHub("/plain", PlainHub, hubOptions);
    return `${(await server.listen()).url}/plain`;
  }

  async function negotiateMany(hub: string, count: number): Promise<string[]> {
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) tokens.push(await negotiate(hub));
    return tokens;
  }

  it("drops the ones that waited longest past the bound, on every transport, and counts them", async () => {
    const meter = startMeter();
    const hub = await start({ maximumNegotiatedConnections: 4, meterProvider: meter.meterProvider });
    const tokens = await negotiateMany(hub, 7);
    expect(valueOf((await meter.metrics()).get("hubwire.server.connections.dropped"), { "hubwire.drop.reason": "negotiated_limit" })).toBe(3);
    expect(await Promise.all(tokens.slice(0, 3).map((token) => firstPoll(hub, token)))).toEqual([404, 404, 404]);
    expect(await upgrade(hub, tokens[3]!)).toBe(101);
    expect(await Promise.all(tokens.slice(4).map((token) => firstPoll(hub, token)))).toEqual([200, 200, 200]);
  });

  it("counts those of a multiplexing endpoint in the metrics too", async () => {
    const meter = startMeter();
    const server = new HubServer({ logger: silentLogger, telemetry: { meterProvider: meter.meterProvider } });
    servers.push(server);
    server.mapMultiplexer("/hubs", { maximumNegotiatedConnections: 2 });
    const hubs = `${(await server.listen()).url}/hubs`;
    await negotiateMany(hubs, 5);
    expect(valueOf((await meter.metrics()).get("hubwire.server.connections.dropped"), { "hubwire.drop.reason": "negotiated_limit" })).toBe(3);
  });

  it("does not count connections that have started", async () => {
    const hub = await start({ maximumNegotiatedConnections: 3 });
    const started = await negotiateMany(hub, 3);
    for (const token of started) expect(await firstPoll(hub, token)).toBe(200);
    const waiting = await negotiateMany(hub, 3);
    for (const token of waiting) expect(await firstPoll(hub, token)).toBe(200);
    // The first three still run: a handshake sent on each is taken.
    const handshake = `{"protocol":"json","version":1}${RS}`;
    for (const token of started) expect((await send(`${hub}?id=${encodeURIComponent(token)}`, "POST", { body: handshake })).status).toBe(200);
  });

  it("tells the operator how many it dropped, once a second at most", async () => {
    const lines: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
    const keep = (message: string, fields?: Record<string, unknown>) => lines.push({ message, fields });
    const logger: Logger = { level: "warn", debug: () => {}, info: () => {}, warn: keep, error: keep };
    const hub = await start({ maximumNegotiatedConnections: 10, logger });
    await negotiateMany(hub, 35);
    const counted = () => lines.reduce((sum, line) => sum + Number(line.fields?.dropped ?? 0), 0);
    await waitFor(() => counted() === 25, "all 25 dropped connections to be counted");
    expect(lines.length).toBeLessThanOrEqual(25);
    for (const line of lines) {
      expect(line.message).toContain("maximumNegotiatedConnections");
      expect(line.fields).toMatchObject({ path: "/plain", limit: 10 });
    }
  });

  it("lets go of a dropped connection's route channel in a cluster", async () => {
    const channelPrefix = `negotiated-${randomUUID()}`;
    const backplane = new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger });
    const hub = await start({ maximumNegotiatedConnections: 5, backplane });
    const redis = new Redis(redisUrl);
    try {
      // Each connection waits on a route channel of its own (docs/scale-out.md).
      const routeChannels = async () => ((await redis.pubsub("CHANNELS", `${channelPrefix}:route:/plain:connection:*`)) as string[]).length;
      const tokens = await negotiateMany(hub, 50);
      await waitFor(async () => (await routeChannels()) === 5, "only the waiting connections' channels to be left");
      expect(await firstPoll(hub, tokens[49]!)).toBe(200);
      expect(await firstPoll(hub, tokens[0]!)).toBe(404);
    } finally {
      redis.disconnect();
    }
  });
});
