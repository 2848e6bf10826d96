import { startAuctionServer } from "./app.js";

// `npm run sample:auction`. PORT picks the port (0: any free one), HOST the interface;
// REDIS_URL makes instances share lots, bids and deliveries (run one per port); REDIS_PREFIX
// (default hubwire-auction) starts their keys and channels: instances with the same one are one auction.
const redisUrl = process.env.REDIS_URL;
const prefix = process.env.REDIS_PREFIX;
const server = await startAuctionServer({
  port: Number(process.env.PORT ?? 3100),
  host: process.env.HOST ?? "127.0.0.1",
  ...(redisUrl ? { redis: { url: redisUrl, ...(prefix ? { prefix } : {}) } } : {}),
});
process.stdout.write(`auction sample: open ${server.url}${redisUrl ? ` (sharing ${redisUrl})` : ""}\n`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close().then(() => process.exit(0), () => process.exit(1));
  });
}
