import type { MetricData } from "@opentelemetry/sdk-metrics";
import { HubServer, silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startMeter } from "./otel-sdk.js";
import { TelemetryHub } from "./telemetry-hub.js";

/**
 * A server of a cluster on the Redis at `url` (under `channelPrefix`), with a meter of its own
 * and TelemetryHub at /telemetry, listening; added to `servers`, which the test closes.
 */
export async function scaledOutWithMeter(url: string, channelPrefix: string, servers: HubServer[]) {
  const meter = startMeter();
  const server = new HubServer({
    logger: silentLogger,
    backplane: new RedisBackplane({ url, channelPrefix, logger: silentLogger }),
    telemetry: { meterProvider: meter.meterProvider },
  });
  servers.push(server);
  const context = server.mapHub("/telemetry", TelemetryHub);
  const { url: address } = await server.listen();
  const metrics = (): Promise<Map<string, MetricData>> => meter.metrics();
  return { server, context, hub: `${address}/telemetry`, metrics };
}
