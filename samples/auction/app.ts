import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Container, type Constructable } from "typedi";
import { HubServer, silentLogger, type Logger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { AuctionHub } from "./auction-hub.js";
import { AuctionStore, defaultRules, type AuctionRules } from "./auction-store.js";
import { handleApi } from "./http-api.js";
import { LotCloser } from "./lot-closer.js";
import { MemoryAuctionStore } from "./memory-auction-store.js";
import { RedisAuctionStore } from "./redis-auction-store.js";
import { verifyToken, type Bidder } from "./sample-auth.js";

export interface AuctionServerOptions {
  port?: number;
  host?: string;
  logger?: Logger;
  /**
   * Share lots, bids and deliveries with other instances over this Redis; without it everything
   * lives in this process. `prefix` starts the sample's keys and channels (default
   * `hubwire-auction`): instances with the same prefix are one auction.
   */
  redis?: { url: string; prefix?: string };
  /** The anti-sniping window (default 10 s); every instance of one auction must use the same. */
  rules?: AuctionRules;
}

export interface AuctionServer {
  url: string;
  http: Server;
  hubs: HubServer;
  close(): Promise<void>;
}

export const hubPath = "/hubs/auction";

// The page's own files, and the compiled modules it imports (the client and the page script).
const here = new URL(".", import.meta.url);
const repoRoot = new URL(here.pathname.includes("/dist/") ? "../../../" : "../../", here);
const publicDir = fileURLToPath(new URL("samples/auction/public/", repoRoot));
const distDir = fileURLToPath(new URL("dist/", repoRoot));

let instances = 0;

/** Starts the auction sample: the hub, sign-in and the page, in memory or over Redis. */
export async function startAuctionServer(options: AuctionServerOptions = {}): Promise<AuctionServer> {
  // A container of its own, so that two servers in one process (tests) share nothing.
  const containerId = `auction-${++instances}`;
  const container = Container.of(containerId);
  const { redis } = options;
  const prefix = redis?.prefix ?? "hubwire-auction";
  const rules = options.rules ?? defaultRules;
  const store = redis ? new RedisAuctionStore(redis.url, `${prefix}:`, rules) : new MemoryAuctionStore(rules);
  // typedi's types take no abstract class as a key; at run time the class is the key the hub's
  // constructor metadata names.
  container.set(AuctionStore as unknown as Constructable<AuctionStore>, store);
  const logger = options.logger;
  const hubs = new HubServer({
    container,
    ...(redis ? { backplane: new RedisBackplane({ url: redis.url, channelPrefix: prefix, ...(logger ? { logger } : {}) }) } : {}),
    ...(logger ? { logger } : {}),
  });
  const context = hubs.mapHub(hubPath, AuctionHub, {
    // Browsers pass the token as ?access_token= on WebSockets and SSE, as a header on the rest.
    authenticate: (_request, token) => verifyToken(token),
    userIdProvider: (user) => (user as Bidder | null)?.name,
  });
  const closer = new LotCloser(store, context, logger ?? silentLogger);

  const roots = {
    "/dist/client/": `${distDir}client/`,
    "/dist/src/protocol/": `${distDir}src/protocol/`,
    "/dist/samples/auction/web/": `${distDir}samples/auction/web/`,
    "/": publicDir,
  };
  const http = createServer((req, res) => {
    if (hubs.handleRequest(req, res)) return;
    handleApi(req, res, roots)
      .then((handled) => {
        if (!handled) res.writeHead(404, { "Content-Type": "text/plain" }).end("Not Found");
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  hubs.attach(http);
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    http,
    hubs,
    async close() {
      await closer.stop();
      await hubs.close();
      await store.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      Container.reset(containerId);
    },
  };
}
