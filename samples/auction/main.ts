import { startAuctionServer } from "./app.js";

// `npm run sample:auction`. PORT picks the port (0: any free one), HOST the interface;
// REDIS_URL makes instances share lots, bids and deliveries (run one per port).
const redisUrl = process.env.REDIS_URL;
const server = await startAuctionServer({
  port: Number(process.env.PORT ?? 3100),
  host: process.env.HOST ?? "127.0.0.1",
  ...(redisUrl ? { redis: { url: redisUrl } } : {}),
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
