import type { LoadConfig, TargetName } from "./protocol.js";

/** One measured run: a scenario against a list of targets, with its load settings. */
export interface ScenarioRun {
  id: string;
  title: string;
  scenario: LoadConfig["scenario"];
  targets: TargetName[];
  connections: number;
  inFlight: number;
  durationMs: number;
  /** Broadcasts (or group sends) per second the server makes. */
  rate: number;
  groups: number;
  /** What one operation is, for the table. */
  unit: string;
  /**
   * A cluster run: hubwire with each of these numbers of nodes (one Redis, a round-robin proxy in
   * front; one node has no backplane) takes the place of the targets, speaking `targets[0]`.
   */
  nodes?: number[];
}

const echoTargets: TargetName[] = ["ws", "ws-naive", "socketio", "hubwire-json", "hubwire-msgpack", "aspnetcore-json", "aspnetcore-msgpack"];
const pushTargets: TargetName[] = ["ws", "socketio", "hubwire-json", "hubwire-msgpack", "aspnetcore-json", "aspnetcore-msgpack", "hubwire-sse", "hubwire-lp", "aspnetcore-sse", "aspnetcore-lp"];
/** The bench hub as one hub of a multiplexed connection: within noise of a plain one is the goal. */
const muxTargets: TargetName[] = ["hubwire-mux-json", "hubwire-mux-msgpack"];
const idleTargets: TargetName[] = ["ws", "socketio", "hubwire-json", "hubwire-sse", "hubwire-lp", "aspnetcore-json", "aspnetcore-sse", "aspnetcore-lp"];

/** The scenarios of the full run, or of `--quick` (smaller and shorter, a few minutes in all). */
export function scenarioRuns(quick: boolean, seconds: number | undefined, connectionsOverride: number | undefined, echoRate = 10_000): ScenarioRun[] {
  const durationMs = (seconds ?? (quick ? 2 : 8)) * 1000;
  const n = (full: number, small: number) => connectionsOverride ?? (quick ? small : full);
  const runs: ScenarioRun[] = [
    { id: "echo-1", title: "echo RPC, 1 call in flight per connection", scenario: "echo", targets: [...echoTargets, "hubwire-official", ...muxTargets], connections: n(100, 50), inFlight: 1, durationMs, rate: 0, groups: 0, unit: "call" },
    { id: "echo-rate", title: `echo RPC at a fixed ${echoRate.toLocaleString("en-US")} calls/s`, scenario: "echo-rate", targets: [...echoTargets, ...muxTargets], connections: n(100, 50), inFlight: 0, durationMs, rate: echoRate, groups: 0, unit: "call" },
    { id: "echo-16", title: "echo RPC, 16 calls in flight per connection", scenario: "echo", targets: echoTargets, connections: n(100, 50), inFlight: 16, durationMs, rate: 0, groups: 0, unit: "call" },
    { id: "broadcast-1000", title: "broadcast to 1,000 connections", scenario: "broadcast", targets: [...pushTargets, ...muxTargets], connections: n(1000, 1000), inFlight: 0, durationMs, rate: 100, groups: 0, unit: "delivery" },
    { id: "groups", title: "group sends, 100 groups of 10", scenario: "groups", targets: echoTargets, connections: n(1000, 1000), inFlight: 0, durationMs, rate: 10_000, groups: 100, unit: "delivery" },
    { id: "idle", title: "idle connections", scenario: "idle", targets: idleTargets, connections: n(10_000, 2000), inFlight: 0, durationMs, rate: 0, groups: 0, unit: "connection" },
  ];
  // Scale-out: the same pushes spread over the nodes of a cluster, each node sending its share,
  // and calls whose requests (over long polling) reach another node than their connection's.
  const nodes = [1, 2, 3];
  runs.push(
    { id: "nodes-broadcast", title: "cluster: broadcast to all", scenario: "broadcast", targets: ["hubwire-json"], nodes, connections: n(1000, 500), inFlight: 0, durationMs, rate: 50, groups: 0, unit: "delivery" },
    { id: "nodes-groups", title: "cluster: group sends to 100 groups", scenario: "groups", targets: ["hubwire-json"], nodes, connections: n(1000, 500), inFlight: 0, durationMs, rate: 1000, groups: 100, unit: "delivery" },
    { id: "nodes-direct", title: "cluster: sends to one connection, held by another node", scenario: "direct", targets: ["hubwire-json"], nodes, connections: n(1000, 500), inFlight: 0, durationMs, rate: 1000, groups: 0, unit: "delivery" },
    { id: "nodes-routed", title: "cluster: echo RPC over long polling, requests to any node", scenario: "echo", targets: ["hubwire-lp"], nodes, connections: n(20, 20), inFlight: 1, durationMs, rate: 0, groups: 0, unit: "call" },
  );
  if (!quick) {
    runs.splice(3, 0, { id: "broadcast-5000", title: "broadcast to 5,000 connections", scenario: "broadcast", targets: pushTargets, connections: n(5000, 5000), inFlight: 0, durationMs, rate: 20, groups: 0, unit: "delivery" });
  }
  return runs;
}
