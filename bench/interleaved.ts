import { Child } from "./child.js";
import type { LoadResult, LoaderCommand, LoaderEvent, ServerCommand, ServerEvent, TargetName } from "./protocol.js";
import type { Row } from "./report.js";
import type { ScenarioRun } from "./scenarios.js";
import { serverChild } from "./server-child.js";

/** How the runner measures: the settings every contender of a run shares. */
export interface MeasureSettings {
  sliceMs: number;
  warmUpMs: number;
  /** How long a slice of pushes waits for its last deliveries: longer only for a client far behind. */
  drainTimeoutMs: number;
  payloadBytes: number;
}

/** What a contender's loader connects to: one server process, or the nodes of a cluster behind a proxy. */
export interface Setup {
  /** The row's name: the target, or a cluster's size. */
  label: string;
  /** What the loader speaks. */
  target: TargetName;
  /**
   * Starts the contender's processes, handing each to `own` as soon as it exists (they are
   * killed after the run, or at once if the contender fails), and resolves with the servers
   * whose CPU counts and the port the loader connects to.
   */
  start(own: (child: { kill(): void }) => void): Promise<{ servers: ServerHandle[]; port: number }>;
  /** CPU used so far by a process the contender relies on but shares (a cluster's Redis, or its primary), in µs. */
  sharedCpuMicros?(): Promise<number>;
}

/** A server the runner drives: a target's own process, or a worker of a Node cluster through its primary. */
export interface ServerHandle {
  send(command: ServerCommand): void;
  next<K extends ServerEvent["kind"]>(kind: K, ms: number): Promise<Extract<ServerEvent, { kind: K }>>;
}

/** A target's own server process: the setup of the single-server runs. */
export function targetSetup(target: TargetName): Setup {
  return {
    label: target,
    target,
    async start(own) {
      const server = serverChild(target);
      own(server);
      const { port } = await server.next("ready", 15_000);
      return { servers: [server], port };
    },
  };
}

/** A setup's processes, kept for a whole interleaved run, and what its slices add up to. */
interface Contender {
  setup: Setup;
  servers: ServerHandle[];
  loader: Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>;
  owned: Array<{ kill(): void }>;
  /** Direct sends: for each server, the connections (on other servers, where there are others) it sends to. */
  recipients: string[][];
  operations: number;
  elapsedMs: number;
  cpuMicros: number;
  /** The servers' event-loop wakeups; undefined once a server has not counted them. */
  wakeups: number | undefined;
  sharedCpuMicros: number;
  loaderCpuMs: number;
  last?: LoadResult;
  rssBytes: number;
  error?: string;
}

/**
 * Measures `setups` in turn: all start (and warm up) first, then each runs one slice of
 * `sliceMs` while the others idle, the order rotating every time, `slices` times. Totals make the
 * row: server CPU per operation over all of a setup's slices (summed over its servers), latency
 * over all its calls. A setup with several servers has each send its share of the pushes.
 */
export async function measureInterleaved(run: ScenarioRun, setups: Setup[], slices: number, settings: MeasureSettings): Promise<Row[]> {
  const contenders: Contender[] = [];
  const limit = settings.sliceMs + 60_000;
  try {
    for (const setup of setups) {
      const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
      const contender: Contender = { setup, servers: [], loader, owned: [loader], recipients: [], operations: 0, elapsedMs: 0, cpuMicros: 0, wakeups: 0, sharedCpuMicros: 0, loaderCpuMs: 0, rssBytes: 0 };
      contenders.push(contender);
      await step(contender, async (c) => {
        const { servers, port } = await setup.start((child) => c.owned.push(child));
        c.servers = servers;
        loader.send({
          kind: "config",
          config: { target: setup.target, scenario: run.scenario, port, connections: run.connections, inFlight: run.inFlight, durationMs: settings.sliceMs, warmUpMs: settings.warmUpMs, payloadBytes: settings.payloadBytes, groups: run.groups, rate: run.rate },
        });
        await loader.next("connected", limit);
        if (run.scenario === "direct") c.recipients = await recipients(servers, run.connections);
      });
    }
    for (let slice = 0; slice < slices; slice++) {
      const last = slice === slices - 1;
      for (let i = 0; i < contenders.length; i++) {
        await step(contenders[(slice + i) % contenders.length]!, async (c) => {
          const sharedBefore = await c.setup.sharedCpuMicros?.();
          for (const server of c.servers) server.send({ kind: "reset" });
          c.loader.send({ kind: "go", partial: !last });
          if (run.scenario === "broadcast" || run.scenario === "groups" || run.scenario === "direct") {
            const rate = run.rate / c.servers.length;
            c.servers.forEach((server, k) =>
              server.send(
                run.scenario === "broadcast"
                  ? { kind: "broadcast", rate, durationMs: settings.sliceMs }
                  : run.scenario === "groups"
                    ? { kind: "groups", groups: run.groups, rate, durationMs: settings.sliceMs }
                    : { kind: "direct", ids: c.recipients[k]!, rate, durationMs: settings.sliceMs },
              ),
            );
            let expected = 0;
            for (const server of c.servers) {
              const { sent } = await server.next("done", limit);
              expected += run.scenario === "broadcast" ? sent * run.connections : run.scenario === "groups" ? groupDeliveries(sent, run.connections, run.groups) : sent;
            }
            c.loader.send({ kind: "drain", expected, timeoutMs: settings.drainTimeoutMs });
          }
          const { result } = await c.loader.next("result", limit);
          c.rssBytes = 0;
          for (const server of c.servers) {
            server.send({ kind: "report", collect: last }); // memory is read from the last slice only
            const report = await server.next("report", 5_000);
            c.cpuMicros += report.cpuMicros;
            c.wakeups = c.wakeups === undefined || report.wakeups === undefined ? undefined : c.wakeups + report.wakeups;
            c.rssBytes += report.rssBytes;
          }
          if (sharedBefore !== undefined) c.sharedCpuMicros += (await c.setup.sharedCpuMicros!()) - sharedBefore;
          c.operations += result.operations;
          c.elapsedMs += result.elapsedMs;
          c.loaderCpuMs += (result.loaderCpuPercent / 100) * result.elapsedMs;
          c.last = result;
        });
      }
    }
  } finally {
    for (const { owned } of contenders) for (const child of owned) child.kill();
  }
  return contenders.map((c): Row => {
    const target = c.setup.label;
    if (c.error || !c.last) {
      return { scenario: run.id, target, operationsPerSecond: 0, serverCpuMicrosPerOp: 0, serverRssMb: 0, loaderCpuPercent: 0, error: c.error ?? "not measured" };
    }
    const operations = Math.max(c.operations, 1);
    return {
      scenario: run.id,
      target,
      operationsPerSecond: (c.operations / c.elapsedMs) * 1000,
      p50Ms: c.last.p50! / 1000,
      p99Ms: c.last.p99! / 1000,
      p999Ms: c.last.p999! / 1000,
      serverCpuMicrosPerOp: c.cpuMicros / operations,
      ...(c.setup.sharedCpuMicros ? { sharedCpuMicrosPerOp: c.sharedCpuMicros / operations } : {}),
      ...(c.wakeups !== undefined ? { serverWakeupsPerOp: c.wakeups / operations } : {}),
      serverRssMb: c.rssBytes / 1024 / 1024,
      loaderCpuPercent: (c.loaderCpuMs / c.elapsedMs) * 100,
    };
  });
}

/** Runs one step of a contender's run; a failure takes it out of the run (its row says why), not the others. */
async function step(contender: Contender, action: (contender: Contender) => Promise<void>): Promise<void> {
  if (contender.error) return;
  try {
    await action(contender);
  } catch (error) {
    contender.error = (error as Error).message;
    for (const child of contender.owned) child.kill();
  }
}

/**
 * Whom each server sends its direct sends to: the connections the other servers hold (its own
 * when it is alone), once every connection the loader opened is known to its server.
 */
async function recipients(servers: ServerHandle[], connections: number): Promise<string[][]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const held: string[][] = [];
    for (const server of servers) {
      server.send({ kind: "ids" });
      held.push((await server.next("ids", 5_000)).ids);
    }
    if (held.flat().length >= connections) {
      const whom = held.map((own, k) => (servers.length === 1 ? own : held.filter((_, j) => j !== k).flat()));
      if (whom.some((ids) => ids.length === 0)) throw new Error(`direct sends need connections on every server's peers: ${held.map((ids) => ids.length).join(", ")} held`);
      return whom;
    }
    if (Date.now() > deadline) throw new Error(`the servers hold ${held.flat().length} of ${connections} connections`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Deliveries of `sent` group sends, made to groups 0, 1, 2, ... in turn, where connection `i`
 * is in group `i % groups`.
 */
export function groupDeliveries(sent: number, connections: number, groups: number): number {
  let total = 0;
  for (let group = 0; group < groups; group++) {
    const members = Math.floor(connections / groups) + (group < connections % groups ? 1 : 0);
    const sends = Math.floor(sent / groups) + (group < sent % groups ? 1 : 0);
    total += members * sends;
  }
  return total;
}
