import { startNotificationServer } from "./app.js";

// The main sample: `npm start`. PORT picks the port (0: any free one), HOST the interface;
// REDIS_URL makes instances share state and deliveries (run one per port).
const redisUrl = process.env.REDIS_URL;
const server = await startNotificationServer({
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? "127.0.0.1",
  ...(redisUrl ? { redis: { url: redisUrl } } : {}),
});
process.stdout.write(`notifications sample: open ${server.url}${redisUrl ? ` (sharing ${redisUrl})` : ""}\n`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // SIGTERM is a deploy: with other instances on the Redis, pages move to them (drain).
    const stop = signal === "SIGTERM" ? server.drain() : server.close();
    stop.then(() => process.exit(0), () => process.exit(1));
  });
}
