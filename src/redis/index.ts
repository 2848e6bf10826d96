export { RedisBackplane, type RedisBackplaneOptions } from "./redis-backplane.js";
export type { Backplane } from "../lifetime/backplane.js";
export { AspNetCoreRedisBackplane, type AspNetCoreRedisBackplaneOptions } from "./aspnetcore-redis-backplane.js";
