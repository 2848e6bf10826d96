import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { HubConnection, silentLogger } from "../../client/index.js";
import type { Bid } from "../../samples/auction/auction-types.js";
import { auctionHub } from "../../samples/auction/web/generated/auction-hub.client.js";
import { redisUrl } from "../support/redis.js";
import { eventually, within } from "../support/wait.js";

// The auction sample as people start it: `node dist/samples/auction/main.js` (what
// `npm run sample:auction` runs once it has built dist/, which the test run has done already),
// twice with REDIS_URL and PORT as several instances.

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the auction sample as processes sharing Redis", () => {
  const prefix = `test-auction-processes-${randomUUID()}`;
  const children: ChildProcess[] = [];
  const connections: HubConnection[] = [];

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.stop()));
    for (const child of children) child.kill("SIGKILL");
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  function start(): { url: Promise<string>; exited: Promise<number | null>; child: ChildProcess } {
    const child = spawn("node", ["dist/samples/auction/main.js"], {
      cwd: root,
      env: { ...process.env, PORT: "0", REDIS_URL: redisUrl, REDIS_PREFIX: prefix },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    const url = new Promise<string>((resolve) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        const match = /^auction sample: open (http:\/\/127\.0\.0\.1:\d+) \(sharing /m.exec(output);
        if (match) resolve(match[1]!);
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { url: within(url, "the sample to print its URL", 30_000), exited, child };
  }

  async function connect(url: string, name: string) {
    const login = await fetch(`${url}/api/login`, { method: "POST", body: JSON.stringify({ name }) });
    const { token } = (await login.json()) as { token: string };
    const connection = new HubConnection(`${url}/hubs/auction`, { accessTokenFactory: () => token, reconnect: false, logger: silentLogger });
    connections.push(connection);
    await connection.start();
    return auctionHub(connection);
  }

  it("shares lots, bids and outbid notices between two instances, and stops cleanly on SIGTERM", async () => {
    const [one, two] = [start(), start()];
    const [urlOne, urlTwo] = await Promise.all([one.url, two.url]);
    const seller = await connect(urlOne, "sam");
    const watcher = await connect(urlTwo, "wendy");
    const bidder = await connect(urlOne, "ben");
    const seen: Bid[] = [];
    watcher.on({ bidPlaced: (bid) => void seen.push(bid) });

    const lot = await seller.openLot({ title: "Globe", startingPrice: 3, durationSeconds: 60 });
    expect((await watcher.watch(lot.id)).lot.title).toBe("Globe");
    expect(await bidder.placeBid(lot.id, 4, "first")).toMatchObject({ accepted: true, bid: { seq: 1 } });
    await eventually(() => seen.map((bid) => `${bid.seq} ${bid.bidder} ${bid.amount}`), ["1 ben 4"]);

    // ben's tabs on both instances hear that wendy outbid him.
    const bensOtherTab = await connect(urlTwo, "ben");
    const outbid: string[] = [];
    bidder.on({ outbid: (_, bid) => void outbid.push(`first tab: ${bid.bidder} ${bid.amount}`) });
    bensOtherTab.on({ outbid: (_, bid) => void outbid.push(`other tab: ${bid.bidder} ${bid.amount}`) });
    expect(await watcher.placeBid(lot.id, 5, "second")).toMatchObject({ accepted: true, bid: { seq: 2 } });
    await eventually(() => [...outbid].sort(), ["first tab: wendy 5", "other tab: wendy 5"]);

    one.child.kill("SIGTERM");
    two.child.kill("SIGTERM");
    expect(await within(Promise.all([one.exited, two.exited]), "both instances to exit", 10_000)).toEqual([0, 0]);
  }, 60_000);
});
