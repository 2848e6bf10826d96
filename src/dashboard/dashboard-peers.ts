import type { Backplane } from "../lifetime/backplane.js";
import type { LogWriter } from "../logger.js";
import { dashboardLog } from "./dashboard-log.js";
import type { ConnectionDetails } from "./connection-search.js";
import type { ServerSummary } from "./server-summary.js";

/** The backplane channel the dashboards of one cluster talk on (hub names have no dots). */
export const dashboardChannel = "hubwire.dashboard";

type PeerMessage =
  | { kind: "want"; origin: string }
  | { kind: "summary"; origin: string; summary: ServerSummary }
  | { kind: "search"; origin: string; id: number; query: string }
  | { kind: "found"; origin: string; to: string; id: number; results: ConnectionDetails[] };

/** Bounds on what other servers can make this one keep. */
const maxPeers = 64;
const maxPayload = 1024 * 1024;
const maxSearches = 16;

interface Search {
  /** How many servers should answer (those heard lately). */
  expected: number;
  results: ConnectionDetails[];
  answered: Set<string>;
  done: () => void;
}

/**
 * The dashboards of a cluster, over its backplane: a server with a viewer asks for summaries
 * ("want"), and every server publishes its own each interval for a while after (so a cluster
 * nobody watches publishes nothing); a search goes to every server, and each answers with the
 * connections it holds. A peer not heard for three intervals leaves the list.
 */
export class DashboardPeers {
  private readonly peers = new Map<string, { summary: ServerSummary; heardAt: number }>();
  private readonly searches = new Map<number, Search>();
  private wantedUntil = 0;
  private nextSearch = 0;
  private readonly subscribed: Promise<void>;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly serverId: string,
    private readonly backplane: Backplane,
    private readonly intervalMs: number,
    private readonly log: LogWriter,
    private readonly search: (query: string) => ConnectionDetails[],
  ) {
    this.subscribed = backplane.subscribe(dashboardChannel, (payload) => this.onMessage(payload)).catch((error: unknown) => {
      this.log.write(dashboardLog.peersUnavailable, { error });
    });
  }

  /** This server has viewers: every server should publish its summary for the next intervals. */
  want(): void {
    this.publish({ kind: "want", origin: this.serverId });
  }

  /** Whether a viewer anywhere asked lately, so this server's summary is worth publishing. */
  get wanted(): boolean {
    return Date.now() < this.wantedUntil;
  }

  share(summary: ServerSummary): void {
    this.publish({ kind: "summary", origin: this.serverId, summary });
  }

  /** The other servers' latest summaries, by name. */
  summaries(): ServerSummary[] {
    const stale = Date.now() - 3 * this.intervalMs;
    for (const [id, peer] of this.peers) if (peer.heardAt < stale) this.peers.delete(id);
    return [...this.peers.values()].map((p) => p.summary).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** What the other servers hold for `query`: their answers within `timeoutMs`, or all of them if sooner. */
  async searchOthers(query: string, timeoutMs = 1000): Promise<ConnectionDetails[]> {
    if (this.searches.size >= maxSearches) return [];
    await this.subscribed;
    const expected = new Set(this.summaries().map((s) => s.id));
    const id = ++this.nextSearch;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const search: Search = { expected: expected.size, results: [], answered: new Set(), done: () => {} };
    const finished = new Promise<void>((resolve) => {
      search.done = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    this.searches.set(id, search);
    try {
      if (expected.size > 0) {
        this.publish({ kind: "search", origin: this.serverId, id, query });
        await finished;
      }
    } finally {
      clearTimeout(timer);
      this.searches.delete(id);
    }
    return search.results;
  }

  async close(): Promise<void> {
    for (const search of this.searches.values()) search.done();
    await this.subscribed;
    await this.backplane.unsubscribe(dashboardChannel).catch(() => undefined);
  }

  private onMessage(payload: Uint8Array): void {
    if (payload.byteLength > maxPayload) return;
    let message: PeerMessage;
    try {
      message = JSON.parse(this.decoder.decode(payload)) as PeerMessage;
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null || typeof message.origin !== "string") return;
    switch (message.kind) {
      case "want":
        this.wantedUntil = Date.now() + 3 * this.intervalMs;
        return;
      case "summary":
        if (message.origin === this.serverId || typeof message.summary !== "object" || message.summary === null) return;
        if (!this.peers.has(message.origin) && this.peers.size >= maxPeers) return;
        this.peers.set(message.origin, { summary: message.summary, heardAt: Date.now() });
        return;
      case "search":
        if (message.origin === this.serverId || typeof message.query !== "string") return;
        this.publish({ kind: "found", origin: this.serverId, to: message.origin, id: message.id, results: this.search(message.query) });
        return;
      case "found": {
        const search = message.to === this.serverId ? this.searches.get(message.id) : undefined;
        if (!search || !Array.isArray(message.results) || search.answered.has(message.origin)) return;
        search.answered.add(message.origin);
        search.results.push(...message.results.slice(0, 20));
        if (search.answered.size >= search.expected) search.done();
        return;
      }
    }
  }

  private publish(message: PeerMessage): void {
    this.backplane.publish(dashboardChannel, this.encoder.encode(JSON.stringify(message))).catch((error: unknown) => {
      this.log.write(dashboardLog.publishFailed, { error });
    });
  }
}
