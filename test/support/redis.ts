// A Redis of a test's own (startOwnRedis) is started by the same code the bench uses for its
// scale-out runs.
export { freePort, onFreePorts, PortTakenError, spawnRedis, startOwnRedis, type OwnRedis } from "../../bench/redis-server.js";

/** The shared Redis of the test environment (CI starts one on the default port). */
export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
