// A Redis of a test's own (startOwnRedis) is started by the same code the bench uses for its
// scale-out runs.
import { startTcpProxy } from "./tcp-proxy.js";

export { freePort, onFreePorts, PortTakenError, spawnRedis, startOwnRedis, type OwnRedis } from "../../bench/redis-server.js";

/** The shared Redis of the test environment (CI starts one on the default port). */
export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** The shared Redis behind a slow, uneven network (see TcpProxy.slow): `url` reaches it through that. */
export interface SlowRedis {
  url: string;
  close(): Promise<void>;
}

/** The shared Redis seen through a proxy that holds a third of its packets up to `maxDelayMs`, in order. */
export async function slowRedis(maxDelayMs: number): Promise<SlowRedis> {
  const proxy = await startTcpProxy(Number(new URL(redisUrl).port || 6379));
  proxy.slow(maxDelayMs);
  return { url: proxy.url.replace("http:", "redis:"), close: () => proxy.close() };
}
