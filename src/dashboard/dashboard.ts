import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { HubContext } from "../dispatch/hub-context.js";
import type { HubRuntime } from "../dispatch/hub-runtime.js";
import type { Authenticate, AuthorizationPolicy, UserIdProvider } from "../dispatch/hub-options.js";
import type { Backplane } from "../lifetime/backplane.js";
import { ScaleOutLifetimeManager } from "../lifetime/scale-out-lifetime-manager.js";
import { HubwireError } from "../errors.js";
import type { LogWriter } from "../logger.js";
import type { ConnectionLimit } from "../transports/connection-limit.js";
import { searchConnections, maxSearchResults, type ConnectionDetails } from "./connection-search.js";
import type { DashboardClient, DashboardService, DashboardView } from "./dashboard-hub.js";
import { dashboardLog } from "./dashboard-log.js";
import { dashboardPage } from "./dashboard-page.js";
import { DashboardPeers } from "./dashboard-peers.js";
import { DashboardRecorder, defaultDashboardLimits, type DashboardLimits } from "./dashboard-recorder.js";
import { ServerSummaries, type ObservedHub } from "./server-summary.js";

/**
 * A live dashboard of the server (`HubServer.mapDashboard`): its hubs, connections, groups,
 * calls and backplane, and every other server of the cluster when scaled out.
 *
 * @example
 * server.mapDashboard("/hubwire", { authorize: (user) => (user as User).admin });
 */
export interface DashboardOptions {
  /**
   * Who may watch: a policy the viewer's user must pass, or the name of one of the server's
   * `policies`. Required; an anonymous viewer is always refused.
   */
  authorize: AuthorizationPolicy | string;
  /** How a viewer is authenticated. Default: the server's `authenticate`. */
  authenticate?: Authenticate;
  /** Default: the server's. */
  userIdProvider?: UserIdProvider;
  /** How often viewers get an update, in ms. Default 1 000. */
  interval?: number;
  /** The page's title. Default "hubwire". */
  title?: string;
  /** How much it remembers (every field has a default; see DashboardLimits). */
  limits?: Partial<DashboardLimits>;
}

/** The interval and limits of `options`, checked: a bad one fails at startup, naming it. */
export function checkDashboardOptions(options: DashboardOptions): { intervalMs: number; limits: DashboardLimits } {
  const intervalMs = options.interval ?? 1000;
  if (!(intervalMs >= 10) || !Number.isFinite(intervalMs)) invalid(`interval must be at least 10 ms (got ${String(intervalMs)})`);
  const limits = { ...defaultDashboardLimits, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 0 || value > 1_000_000) invalid(`limits.${name} must be an integer from 0 to 1 000 000 (got ${String(value)})`);
  }
  if (limits.latencyWindow < 1) invalid("limits.latencyWindow must be at least 1 ms");
  return { intervalMs, limits };
}

function invalid(message: string): never {
  throw new HubwireError("ERR_INVALID_OPTION", `mapDashboard: ${message}.`);
}

const bundleCandidates = [
  // dist/src/dashboard/ in a built package, src/dashboard/ in the repository.
  new URL("../../browser/hubwire-client.min.js", import.meta.url),
  new URL("../../dist/browser/hubwire-client.min.js", import.meta.url),
];

/** One mounted dashboard: what it records, its page, and its updates to viewers. */
export class Dashboard implements DashboardService {
  readonly id = randomUUID();
  readonly recorder: DashboardRecorder;
  private readonly hubs: ObservedHub[] = [];
  private readonly summaries: ServerSummaries;
  private readonly peers: DashboardPeers | undefined;
  private readonly intervalMs: number;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly page: string;
  private latest: DashboardView | undefined;
  private bundle: Promise<Buffer | undefined> | undefined;
  private viewers: { runtime: HubRuntime; context: HubContext<DashboardClient> } | undefined;

  constructor(
    /** The page's path, normalized (the hub is at `${path}/hub`). */
    readonly path: string,
    options: DashboardOptions,
    backplane: Backplane | undefined,
    private readonly log: LogWriter,
    /** The server's bound on its connections: the page shows it, and what it refused. */
    connectionLimit: ConnectionLimit,
  ) {
    const { intervalMs, limits } = checkDashboardOptions(options);
    this.intervalMs = intervalMs;
    this.recorder = new DashboardRecorder(limits);
    this.summaries = new ServerSummaries(this.id, () => this.hubs, this.recorder, connectionLimit);
    this.peers = backplane && new DashboardPeers(this.id, backplane, this.intervalMs, log, (query) => this.searchHere(query));
    this.page = dashboardPage(path, options.title ?? "hubwire");
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** The dashboard's own hub, once mapped: its connections are the viewers. */
  attachViewers(runtime: HubRuntime, context: HubContext<DashboardClient>): void {
    this.viewers = { runtime, context };
  }

  /** Shows a hub mapped at `path` from now on, and records its calls and connections. */
  observe(path: string, runtime: HubRuntime): void {
    const name = runtime.descriptor.name;
    const lifetime = runtime.lifetime;
    const scaleOut =
      lifetime instanceof ScaleOutLifetimeManager ? { stats: () => lifetime.stats, peers: () => lifetime.peers } : undefined;
    this.hubs.push({ name, path, runtime, ...(scaleOut ? { scaleOut } : {}) });
    runtime.observe(this.recorder.observerFor(name));
  }

  view(): DashboardView {
    return (this.latest ??= this.build());
  }

  async search(query: string): Promise<ConnectionDetails[]> {
    const here = this.searchHere(query);
    const others = this.peers ? await this.peers.searchOthers(query) : [];
    return [...here, ...others].slice(0, maxSearchResults);
  }

  /** Serves the page and the client bundle it loads; false for any other request. */
  handlePage(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    if (path === this.path) {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
      res.end(req.method === "HEAD" ? undefined : this.page);
      return true;
    }
    if (path !== `${this.path}/hubwire-client.min.js`) return false;
    void this.readBundle().then((bundle) => {
      if (!bundle) return void res.writeHead(500, { "Content-Type": "text/plain" }).end("The browser bundle is missing.");
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "max-age=3600" });
      res.end(req.method === "HEAD" ? undefined : bundle);
    });
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.peers?.close();
  }

  private searchHere(query: string): ConnectionDetails[] {
    return searchConnections(this.summaries.name, this.hubs, this.recorder.callsByConnection, query);
  }

  private build(): DashboardView {
    const own = this.summaries.summary();
    return { at: own.at, servers: [own, ...(this.peers?.summaries() ?? [])] };
  }

  /** Work only while someone watches: a viewer here, or (scaled out) on another server. */
  private tick(): void {
    try {
      const watched = (this.viewers?.runtime.sessions.size ?? 0) > 0;
      if (watched) this.peers?.want();
      if (!watched && !this.peers?.wanted) {
        this.latest = undefined;
        return;
      }
      const view = (this.latest = this.build());
      if (this.peers?.wanted) this.peers.share(view.servers[0]!);
      if (watched) void this.viewers!.context.clients.all.Update(view).catch((error: unknown) => this.log.write(dashboardLog.updateFailed, { error }));
    } catch (error) {
      this.log.write(dashboardLog.updateFailed, { error });
    }
  }

  private readBundle(): Promise<Buffer | undefined> {
    return (this.bundle ??= (async () => {
      for (const candidate of bundleCandidates) {
        try {
          return await readFile(fileURLToPath(candidate));
        } catch {
          // the next place
        }
      }
      this.log.write(dashboardLog.bundleMissing, {});
      this.bundle = undefined;
      return undefined;
    })());
  }
}
