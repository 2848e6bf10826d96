import { afterEach, describe, expect, it } from "vitest";
import type { HubServer } from "../../src/index.js";
import { RS, send } from "../http-transports/http-client.js";
import { startOwnRedis, type OwnRedis } from "../support/redis.js";
import { histogramAt } from "./otel-sdk.js";
import { scaledOutWithMeter } from "./scaled-out.js";

// Without sticky sessions, a request that reaches another server than its connection's is
// forwarded (docs/scale-out.md): the server that forwarded it records how it ended.

const text = { "Content-Type": "text/plain;charset=UTF-8" };

describe("forwarded request metrics", () => {
  let redis: OwnRedis | undefined;
  const servers: HubServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await redis?.stop();
  });

  async function scaledOut(url: string) {
    const { hub, metrics } = await scaledOutWithMeter(url, `forwarded-metrics-${process.pid}`, servers);
    /** How many forwarded requests ended so. */
    const forwarded = async (method: string, outcome: string, errorType?: string) => {
      const metric = (await metrics()).get("hubwire.server.forwarded_request.duration");
      expect(metric?.descriptor.unit).toBe("s");
      const attributes = { "http.request.method": method, "hubwire.forward.outcome": outcome, ...(errorType ? { "error.type": errorType } : {}) };
      return histogramAt(metric, attributes)?.count ?? 0;
    };
    return { hub, forwarded };
  }

  it("records each forwarded request's end on the server that forwarded it: served, moved, not found, failed", async () => {
    redis = await startOwnRedis();
    const [a, b] = [await scaledOut(redis.url), await scaledOut(redis.url)];
    const negotiated = await send(`${a.hub}/negotiate?negotiateVersion=1`, "POST");
    const { connectionToken } = JSON.parse(negotiated.text) as { connectionToken: string };
    // The first poll reaches server b: the connection moves there.
    expect((await send(`${b.hub}?id=${connectionToken}`, "GET")).status).toBe(200);
    expect(await b.forwarded("GET", "moved")).toBe(1);
    // Its handshake, a poll and a request for no connection reach server a, which forwards them.
    expect((await send(`${a.hub}?id=${connectionToken}`, "POST", { body: `{"protocol":"json","version":1}${RS}`, headers: text })).status).toBe(200);
    expect((await send(`${a.hub}?id=${connectionToken}`, "GET")).text).toBe(`{}${RS}`);
    expect((await send(`${a.hub}?id=nobody`, "GET")).status).toBe(404);
    expect([await a.forwarded("POST", "served"), await a.forwarded("GET", "served"), await a.forwarded("GET", "not_found")]).toEqual([1, 1, 1]);

    // Without Redis, nothing can be forwarded.
    await redis.stop();
    expect((await send(`${a.hub}?id=${connectionToken}`, "POST", { body: `{"type":6}${RS}`, headers: text })).status).toBe(503);
    expect(await a.forwarded("POST", "failed", "ERR_BACKPLANE_UNAVAILABLE")).toBe(1);
    expect(await b.forwarded("POST", "served")).toBe(0); // the holder forwarded nothing
  });
});
