/** Messages between the bench runner and its child processes (server targets and loaders), over IPC. */

export type TargetName =
  | "ws"
  | "ws-naive"
  | "socketio"
  | "hubwire-json"
  | "hubwire-msgpack"
  | "hubwire-sse"
  | "hubwire-lp"
  | "hubwire-official"
  | "hubwire-mux-json"
  | "hubwire-mux-msgpack"
  | "aspnetcore-json"
  | "aspnetcore-msgpack"
  | "aspnetcore-sse"
  | "aspnetcore-lp";

/** Which server process a target runs against. */
export const serverOf: Record<TargetName, "ws" | "ws-naive" | "socketio" | "hubwire" | "aspnetcore"> = {
  ws: "ws",
  "ws-naive": "ws-naive",
  socketio: "socketio",
  "hubwire-json": "hubwire",
  "hubwire-msgpack": "hubwire",
  "hubwire-sse": "hubwire",
  "hubwire-lp": "hubwire",
  "hubwire-official": "hubwire",
  "hubwire-mux-json": "hubwire",
  "hubwire-mux-msgpack": "hubwire",
  "aspnetcore-json": "aspnetcore",
  "aspnetcore-msgpack": "aspnetcore",
  "aspnetcore-sse": "aspnetcore",
  "aspnetcore-lp": "aspnetcore",
};

export type ServerCommand =
  | { kind: "reset" }
  /**
   * CPU time since the last reset, and memory. `collect`: after a full garbage collection, for
   * memory figures. Only then: a collection forced every slice of a CPU measurement costs the
   * next slice its aftermath (sweeping on helper threads, code deoptimised as the object layouts
   * it knew are collected, then compiled again), more for a server with more heap and code.
   */
  | { kind: "report"; collect?: boolean }
  /** Broadcast `count` messages to all, one per `intervalMs`. */
  | { kind: "broadcast"; rate: number; durationMs: number }
  /** Send to groups `0..groups-1` in turn, `rate` sends per second. */
  | { kind: "groups"; groups: number; rate: number; durationMs: number }
  /** Send to the connections `ids` in turn (each its own send), `rate` sends per second. */
  | { kind: "direct"; ids: string[]; rate: number; durationMs: number }
  /** Which connections this server holds. */
  | { kind: "ids" }
  /** Writes a heap snapshot (after a full collection) to `path`. */
  | { kind: "snapshot"; path: string };

export type ServerEvent =
  | { kind: "ready"; port: number }
  /** `wakeups`: how many times the event loop slept and woke since the reset (see eventLoopWakeups); absent where not counted. */
  | { kind: "report"; cpuMicros: number; wakeups?: number | undefined; rssBytes: number; heapBytes: number; connections: number }
  /** The broadcasts, group sends or direct sends are over: `sent` of them. */
  | { kind: "done"; sent: number }
  | { kind: "ids"; ids: string[] }
  | { kind: "snapshot"; path: string };

export interface LoadConfig {
  target: TargetName;
  /** direct: the server sends to one connection at a time (pushes, like broadcast and groups). */
  scenario: "echo" | "echo-rate" | "broadcast" | "groups" | "direct" | "idle";
  /** echo-rate: calls per second across all connections, sent on schedule whatever the replies do. */
  rate: number;
  port: number;
  connections: number;
  inFlight: number;
  durationMs: number;
  /** echo, echo-rate: run echo calls for this long (or 20,000 calls) before the measured window. */
  warmUpMs?: number;
  /** echo: stop after this many calls even if `durationMs` has not passed. */
  maxCalls?: number;
  payloadBytes: number;
  /** For groups: how many groups; each connection joins group `i % groups`. */
  groups: number;
  /** False: connections opened from this config on send no keep-alive pings. */
  keepAlive?: boolean;
}

export interface LoadResult {
  /** Operations completed in the measured window: calls, delivered messages, or connections. */
  operations: number;
  elapsedMs: number;
  /** Latency percentiles in microseconds (absent for idle). */
  p50?: number;
  p99?: number;
  p999?: number;
  loaderCpuPercent: number;
  errors: number;
}

export type LoaderEvent = { kind: "connected" } | { kind: "result"; result: LoadResult } | { kind: "closed" } | { kind: "failed"; error: string };
/**
 * `go` runs one measured window: `durationMs` of calls, or for broadcasts and group sends the
 * deliveries from then until `drain` says how many to expect (and how long to wait at most).
 * Latencies add up over the windows since the config; `partial` windows leave them out of their
 * result, and the next full one reports them all.
 */
export type LoaderCommand =
  | { kind: "config"; config: LoadConfig }
  | { kind: "go"; partial?: boolean }
  | { kind: "drain"; expected: number; timeoutMs: number }
  /** Closes every connection the loader holds. */
  | { kind: "close" };

/**
 * Microseconds on the machine's monotonic clock (CLOCK_MONOTONIC on Linux), which every process
 * on one machine reads alike. Not the wall clock: a step of it between the starts of two processes
 * (a clock sync) shifts their `performance.timeOrigin` apart and gave negative latencies.
 */
export function nowMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
