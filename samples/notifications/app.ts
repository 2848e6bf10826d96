import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { Container, type Constructable } from "typedi";
import { HubServer, type Logger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { handleApi } from "./http-api.js";
import { MemoryNotificationStore } from "./memory-notification-store.js";
import { NotificationHub } from "./notification-hub.js";
import { NotificationStore } from "./notification-store.js";
import { RedisNotificationStore } from "./redis-notification-store.js";
import { Publisher } from "./publisher.js";
import { verifyToken, type SampleUser } from "./sample-auth.js";

export interface NotificationServerOptions {
  port?: number;
  host?: string;
  logger?: Logger;
  /**
   * Share state and deliveries with other instances over this Redis; without it everything
   * lives in this process. `prefix` starts the sample's keys and channels (default
   * `hubwire-notifications`): instances with the same prefix are one application.
   */
  redis?: { url: string; prefix?: string };
}

export interface NotificationServer {
  url: string;
  http: Server;
  hubs: HubServer;
  close(): Promise<void>;
  /**
   * Leaves the other instances sharing its Redis without losing a page's connection: each moves,
   * with its groups and unread deliveries, to the instance the page reconnects through
   * (HubServer.drain). Alone, it is close().
   */
  drain(): Promise<void>;
}

export const hubPath = "/hubs/notifications";
export const dashboardPath = "/hubwire";

// The page's own files, and the compiled modules it imports (the client and the page script).
const here = new URL(".", import.meta.url);
const repoRoot = new URL(here.pathname.includes("/dist/") ? "../../../" : "../../", here);
const publicDir = fileURLToPath(new URL("samples/notifications/public/", repoRoot));
const distDir = fileURLToPath(new URL("dist/", repoRoot));

let instances = 0;

/** Starts the notification sample: the hub, the HTTP API and the page, in memory or over Redis. */
export async function startNotificationServer(options: NotificationServerOptions = {}): Promise<NotificationServer> {
  // A container of its own, so two servers in one process (a restart in a test) share nothing.
  const containerId = `notifications-${++instances}`;
  const container = Container.of(containerId);
  const { redis } = options;
  const prefix = redis?.prefix ?? "hubwire-notifications";
  const store = redis ? new RedisNotificationStore(redis.url, `${prefix}:`) : new MemoryNotificationStore();
  // The hub asks for a NotificationStore; typedi's types take no abstract class as a key, but
  // at run time the class is the key its constructor's metadata names.
  container.set(NotificationStore as unknown as Constructable<NotificationStore>, store);
  // hubwire's metrics in the Prometheus text format on GET /metrics, through the OpenTelemetry
  // SDK's exporter, served by the sample's own HTTP server rather than one of the exporter's.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [prometheus] });
  const hubs = new HubServer({
    container,
    telemetry: { meterProvider },
    ...(redis ? { backplane: new RedisBackplane({ url: redis.url, channelPrefix: prefix, ...(options.logger ? { logger: options.logger } : {}) }) } : {}),
    policies: { admin: (user) => (user as SampleUser).admin },
    // Pages ask for it: a dropped WebSocket resumes where it stopped, on this instance or another.
    allowStatefulReconnects: true,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const context = hubs.mapHub(hubPath, NotificationHub, {
    // Browsers pass the token as ?access_token= on WebSockets and SSE, as a header on the rest.
    authenticate: (_request, token) => verifyToken(token),
    userIdProvider: (user) => (user as SampleUser | null)?.name,
  });
  // hubwire's live dashboard, for admins only: the page's link hands it the admin's token.
  hubs.mapDashboard(dashboardPath, {
    title: "hubwire notifications",
    authenticate: (_request, token) => verifyToken(token),
    userIdProvider: (user) => (user as SampleUser | null)?.name,
    authorize: "admin",
  });
  const publisher = new Publisher(store, context);
  container.set(Publisher, publisher);

  const roots = {
    "/dist/client/": `${distDir}client/`,
    "/dist/src/protocol/": `${distDir}src/protocol/`,
    "/dist/samples/notifications/web/": `${distDir}samples/notifications/web/`,
    "/": publicDir,
  };
  const http = createServer((req, res) => {
    if (hubs.handleRequest(req, res)) return;
    if (req.method === "GET" && req.url === "/metrics") return prometheus.getMetricsRequestHandler(req, res);
    handleApi(req, res, publisher, roots)
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
  /** Ends the hubs (`end`: close or drain), the store, the HTTP server and the container, once. */
  let stopped: Promise<void> | undefined;
  const stop = (end: () => Promise<void>) =>
    (stopped ??= (async () => {
      await end();
      await store.close();
      await meterProvider.shutdown();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      Container.reset(containerId);
    })());
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    http,
    hubs,
    close: () => stop(() => hubs.close()),
    drain: () => stop(() => hubs.drain()),
  };
}
