import { hostname } from "node:os";
import type { HubRuntime } from "../dispatch/hub-runtime.js";
import type { LocalMembership } from "../lifetime/in-memory-lifetime-manager.js";
import type { ScaleOutStats } from "../lifetime/scale-out-lifetime-manager.js";
import type { ConnectionEvent, DashboardRecorder, MethodFigures } from "./dashboard-recorder.js";
import type { RecentCall } from "./recent-calls.js";
import { TopN } from "./top-n.js";

/** A hub the dashboard shows, as the server mapped it. */
export interface ObservedHub {
  name: string;
  path: string;
  runtime: HubRuntime;
  /** With the built-in scale-out lifetime manager: its figures. */
  scaleOut?: {
    stats: () => ScaleOutStats;
    peers: () => { count: number; connected: boolean };
  };
}

export interface MethodSummary {
  name: string;
  calls: number;
  errors: number;
  hubExceptions: number;
  /** Calls a second since the previous summary. */
  rate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface HubSummary {
  name: string;
  path: string;
  connections: number;
  /** Of its connections, the stateful ones whose client is away, waiting for it to reconnect. */
  waiting: number;
  users: number;
  /** The hub's maximumConnectionsPerUser (null for none), and the new connections refused past it since it was mapped. */
  maximumConnectionsPerUser: number | null;
  refusedUserConnections: number;
  /** The hub's maximumInvocationsPerSecondPerClient (null for none), and the invocations that waited for it since the hub was mapped. */
  maximumInvocationsPerSecondPerClient: number | null;
  heldBackInvocations: number;
  groups: number;
  topGroups: Array<{ name: string; size: number }>;
  methods: MethodSummary[];
  backplane: (Omit<ScaleOutStats, "waiting"> & { waitingMessages: number; waitingBytes: number; peers: number; connected: boolean }) | null;
}

/** One server as the dashboard shows it; small, and the same size whatever its connections. */
export interface ServerSummary {
  id: string;
  name: string;
  startedAt: number;
  at: number;
  connections: number;
  /** The server's maximumConnections (its HTTP connections across endpoints, not its hubs'), null for none. */
  maximumConnections: number | null;
  /** New connections refused past it since the server started. */
  refusedConnections: number;
  byTransport: Record<string, number>;
  byProtocol: Record<string, number>;
  hubs: HubSummary[];
  recentCalls: RecentCall[];
  recentConnections: ConnectionEvent[];
}

/**
 * Builds this server's summary on demand: counts its connections by walking the hubs' sessions
 * (no counter on the connection path), takes the largest groups with a bounded TopN, and turns
 * the recorder's totals into rates since the previous summary.
 */
export class ServerSummaries {
  readonly name = `${hostname()}:${process.pid}`;
  readonly startedAt = Date.now();
  private readonly previous = new WeakMap<MethodFigures, { calls: number; at: number }>();

  constructor(
    readonly id: string,
    private readonly hubs: () => readonly ObservedHub[],
    private readonly recorder: DashboardRecorder,
    private readonly connectionLimit: { readonly maximum: number | null; readonly refused: number },
  ) {}

  summary(): ServerSummary {
    const now = Date.now();
    const byTransport: Record<string, number> = {};
    const byProtocol: Record<string, number> = {};
    let connections = 0;
    const hubs: HubSummary[] = [];
    for (const hub of this.hubs()) {
      let count = 0;
      let waiting = 0;
      for (const session of hub.runtime.sessions.values()) {
        const { connection } = session;
        const transport = connection.transportName ?? "none";
        byTransport[transport] = (byTransport[transport] ?? 0) + 1;
        const protocol = connection.protocol?.name ?? "handshaking";
        byProtocol[protocol] = (byProtocol[protocol] ?? 0) + 1;
        if (connection.transport.state === "suspended") waiting++;
        count++;
      }
      connections += count;
      hubs.push(this.hubSummary(hub, count, waiting, now));
    }
    return {
      id: this.id,
      name: this.name,
      startedAt: this.startedAt,
      at: now,
      connections,
      maximumConnections: this.connectionLimit.maximum,
      refusedConnections: this.connectionLimit.refused,
      byTransport,
      byProtocol,
      hubs,
      recentCalls: this.recorder.recentCalls.toArray(),
      recentConnections: this.recorder.recentConnections.toArray(),
    };
  }

  private hubSummary(hub: ObservedHub, connections: number, waiting: number, now: number): HubSummary {
    const membership = membershipOf(hub.runtime);
    const top = new TopN(this.recorder.limits.topGroups);
    membership?.forEachGroup((name, size) => top.offer(name, size));
    const methods: MethodSummary[] = [];
    for (const figures of this.recorder.methodsOf(hub.name)) {
      const before = this.previous.get(figures);
      const rate = before && now > before.at ? ((figures.calls - before.calls) * 1000) / (now - before.at) : 0;
      this.previous.set(figures, { calls: figures.calls, at: now });
      const { p50, p95, p99 } = figures.latency.percentiles();
      methods.push({
        name: figures.name,
        calls: figures.calls,
        errors: figures.errors,
        hubExceptions: figures.hubExceptions,
        rate,
        p50: p50 ?? null,
        p95: p95 ?? null,
        p99: p99 ?? null,
      });
    }
    let backplane: HubSummary["backplane"] = null;
    if (hub.scaleOut) {
      const { waiting, ...stats } = hub.scaleOut.stats();
      const peers = hub.scaleOut.peers();
      backplane = { ...stats, waitingMessages: waiting.messages, waitingBytes: waiting.bytes, peers: peers.count, connected: peers.connected };
    }
    return {
      name: hub.name,
      path: hub.path,
      connections,
      waiting,
      users: membership?.userCount ?? 0,
      maximumConnectionsPerUser: hub.runtime.userConnections.maximum,
      refusedUserConnections: hub.runtime.userConnections.refused,
      maximumInvocationsPerSecondPerClient: hub.runtime.options.maximumInvocationsPerSecondPerClient,
      heldBackInvocations: hub.runtime.invocationsHeldBack.count,
      groups: membership?.groupCount ?? 0,
      topGroups: top.result(),
      methods,
      backplane,
    };
  }
}

/** The lifetime manager's view of who it holds here, when it offers one (hubwire's own do). */
export function membershipOf(runtime: HubRuntime): LocalMembership | undefined {
  return (runtime.lifetime as { localMembership?: LocalMembership }).localMembership;
}
