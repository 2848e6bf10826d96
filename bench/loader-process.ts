import { nowMicros, type LoadConfig, type LoaderCommand, type LoaderEvent, type LoadResult, type TargetName } from "./protocol.js";
import { Samples } from "./stats.js";
import { HubwireHttpClient } from "./wire/hubwire-http-client.js";
import { HubwireWsClient } from "./wire/hubwire-ws-client.js";
import { withoutKeepAlive, type LeanClient } from "./wire/lean-client.js";
import { OfficialClient } from "./wire/official-client.js";
import { RawWsClient } from "./wire/raw-ws-client.js";
import { SocketIoClient } from "./wire/socketio-client.js";

// The load generator, in a process of its own so that its CPU is measured apart from the server's.

const factories: Record<TargetName, (port: number) => LeanClient> = {
  ws: (port) => new RawWsClient(port),
  "ws-naive": (port) => new RawWsClient(port),
  socketio: (port) => new SocketIoClient(port),
  "hubwire-json": (port) => new HubwireWsClient(port, false),
  "hubwire-msgpack": (port) => new HubwireWsClient(port, true),
  "hubwire-sse": (port) => new HubwireHttpClient(port, "sse"),
  "hubwire-lp": (port) => new HubwireHttpClient(port, "lp"),
  "hubwire-official": (port) => new OfficialClient(port),
  // The bench hub as one hub of a multiplexed connection (docs/multiplexing.md).
  "hubwire-mux-json": (port) => new HubwireWsClient(port, false, true),
  "hubwire-mux-msgpack": (port) => new HubwireWsClient(port, true, true),
  // ASP.NET Core SignalR speaks the same protocol at the same path: the same clients drive it.
  "aspnetcore-json": (port) => new HubwireWsClient(port, false),
  "aspnetcore-msgpack": (port) => new HubwireWsClient(port, true),
  "aspnetcore-sse": (port) => new HubwireHttpClient(port, "sse"),
  "aspnetcore-lp": (port) => new HubwireHttpClient(port, "lp"),
};

const send = (event: LoaderEvent) => process.send!(event);
let config: LoadConfig;
let clients: LeanClient[] = [];
/** Latencies of the measured windows since the config (a run may be measured in several). */
let samples = new Samples();

process.on("message", (command: LoaderCommand) => {
  if (command.kind === "config") {
    config = command.config;
    if (config.keepAlive === false) withoutKeepAlive();
    prepare().then(
      () => send({ kind: "connected" }),
      (error: Error) => send({ kind: "failed", error: error.message }),
    );
  } else if (command.kind === "close") {
    for (const client of clients.splice(0)) client.close();
    send({ kind: "closed" });
  } else if (command.kind === "drain") {
    drain?.(command.expected, command.timeoutMs);
  } else {
    run(command.partial === true).then(
      (result) => send({ kind: "result", result }),
      (error: Error) => send({ kind: "failed", error: error.message }),
    );
  }
});
process.on("disconnect", () => {
  for (const client of clients) client.close();
  process.exit(0);
});

/** Opens the connections (except for the idle scenario, where opening them is what is measured). */
async function prepare(): Promise<void> {
  if (config.scenario === "idle") return;
  clients = await openAll(config.connections);
  if (config.scenario === "groups") await Promise.all(clients.map((c, i) => c.join(`g${i % config.groups}`)));
  // Calls before the measured window, so that it finds the server's code compiled and its heap
  // grown: the first thousands of calls run in the interpreter and compile on background threads.
  if (config.warmUpMs && (config.scenario === "echo" || config.scenario === "echo-rate")) {
    await echo(config.warmUpMs, warmUpCalls, Math.max(1, config.inFlight));
  }
  samples = new Samples();
}

/**
 * At most this many warm-up calls. The engine goes on optimising well after a server's first
 * calls, on compiler threads whose CPU time counts as the server's: a window that starts too soon
 * measures compilation, and more of it for a server with more code on its hot path.
 */
const warmUpCalls = 100_000;

/**
 * The first connections a loader opens go one at a time. The engine fixes how much room objects
 * of a kind get (Node's sockets and their stream states) after the first few are made, from the
 * properties those have by then: a burst of accepts fixes it before any socket has finished its
 * upgrade or written, a race with the server's cold code that a slower first upgrade loses, and
 * then every connection after carries a separate property store (about 100 bytes). Servers whose
 * first clients come one by one all get the same room.
 */
const oneByOne = 10;

async function openAll(count: number): Promise<LeanClient[]> {
  const opened: LeanClient[] = [];
  const batch = 100; // enough in parallel to find the accept rate, not so many that SYNs are dropped
  for (let i = 0; i < count; ) {
    const size = clients.length + i < oneByOne ? 1 : Math.min(batch, count - i);
    const next = Array.from({ length: size }, () => factories[config.target](config.port));
    i += size;
    await Promise.all(next.map((c) => c.connect()));
    opened.push(...next);
  }
  return opened;
}

async function run(partial: boolean): Promise<LoadResult> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const measured = await (config.scenario === "echo"
    ? echo()
    : config.scenario === "echo-rate"
      ? echoAtRate()
      : config.scenario === "idle"
        ? idle()
        : ticks());
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const latency = partial || samples.size === 0 ? {} : percentiles();
  return { ...measured, ...latency, elapsedMs: measured.elapsedMs ?? elapsedMs, loaderCpuPercent: ((used.user + used.system) / 1000 / elapsedMs) * 100 };
}

type Measured = Omit<LoadResult, "loaderCpuPercent" | "elapsedMs" | "p50" | "p99" | "p999"> & { elapsedMs?: number };

function percentiles(): Pick<LoadResult, "p50" | "p99" | "p999"> {
  const [p50, p99, p999] = samples.percentiles(50, 99, 99.9);
  return { p50: p50!, p99: p99!, p999: p999! };
}

/** Each connection keeps `inFlight` calls outstanding for the duration. */
function echo(durationMs = config.durationMs, maxCalls = config.maxCalls, inFlight = config.inFlight): Promise<Measured> {
  const payload = "x".repeat(config.payloadBytes);
  let completed = 0;
  let stopping = false;
  let outstanding = 0;
  return new Promise((resolve) => {
    const finish = () => resolve({ operations: completed, elapsedMs: durationMs, errors: 0 });
    const issue = (client: LeanClient): void => {
      const sentAt = performance.now();
      outstanding++;
      client.call(payload, () => {
        outstanding--;
        if (stopping) {
          if (outstanding === 0) finish();
          return;
        }
        completed++;
        samples.add((performance.now() - sentAt) * 1000);
        if (completed === maxCalls) stop();
        else issue(client);
      });
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      clearTimeout(timer);
      if (outstanding === 0) finish();
    };
    for (const client of clients) for (let i = 0; i < inFlight; i++) issue(client);
    const timer = setTimeout(stop, durationMs);
  });
}

/**
 * Calls at a fixed total rate, spread over the connections, on schedule whatever the replies do
 * (open loop), so every target does the same work and latency includes any queueing.
 */
function echoAtRate(): Promise<Measured> {
  const payload = "x".repeat(config.payloadBytes);
  const started = performance.now();
  let sent = 0;
  let completed = 0;
  let next = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - started;
      if (elapsed >= config.durationMs) {
        // Give late replies a moment, then report what arrived.
        setTimeout(() => resolve({ operations: completed, elapsedMs: config.durationMs, errors: sent - completed }), 200);
        return;
      }
      const due = Math.floor((elapsed / 1000) * config.rate);
      while (sent < due) {
        const scheduledAt = started + (sent / config.rate) * 1000;
        sent++;
        clients[next++ % clients.length]!.call(payload, () => {
          completed++;
          samples.add((performance.now() - scheduledAt) * 1000);
        });
      }
      setTimeout(tick, 1);
    };
    tick();
  });
}

/** Ends the current push window once `expected` deliveries have arrived, or after `timeoutMs`. */
let drain: ((expected: number, timeoutMs: number) => void) | undefined;

/**
 * Counts broadcast or group messages delivered from `go` until all the server sent have arrived
 * (it says how many by `drain`), with their latency. The rate is over the sending window, or
 * over the time from first to last delivery when that is longer: a server whose clients fall
 * behind shows a lower rate, not lost messages.
 */
function ticks(): Promise<Measured> {
  let firstAt = 0;
  let lastAt = 0;
  let delivered = 0;
  let expected = Number.POSITIVE_INFINITY;
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      clearTimeout(timer);
      drain = undefined;
      for (const client of clients) client.onTick(() => {});
      resolve({ operations: delivered, elapsedMs: Math.max(config.durationMs, lastAt - firstAt), errors: Math.max(0, expected - delivered) });
    };
    const listener = (sentAt: number) => {
      lastAt = performance.now();
      if (delivered++ === 0) firstAt = lastAt;
      samples.add(nowMicros() - sentAt);
      if (delivered >= expected) finish();
    };
    for (const client of clients) client.onTick(listener);
    drain = (count, timeoutMs) => {
      expected = count;
      if (delivered >= expected) finish();
      else timer = setTimeout(finish, timeoutMs);
    };
  });
}

/**
 * Opens `connections` connections as fast as the server accepts them, and keeps them open with
 * those opened before (a count of instructions per accept opens a second set, counted, after the first).
 */
async function idle(): Promise<Measured> {
  const started = performance.now();
  const opened = await openAll(config.connections);
  clients.push(...opened);
  return { operations: opened.length, elapsedMs: performance.now() - started, errors: 0 };
}
