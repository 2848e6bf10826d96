import { writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import { HubConnection, silentLogger } from "../client/index.js";
import { Child } from "./child.js";
import type { ServerCommand, ServerEvent } from "./protocol.js";
import { startOwnRedis, type OwnRedis } from "./redis-server.js";
import { option } from "./args.js";

// `npm run bench:recovery [-- --connections 1000 --seconds 10 --rounds 2 --json <file>]`: what crash recovery
// (`scaleOut.recovery`) costs a cluster at rest. Two hubwire nodes share a Redis of the bench's
// own; `connections` stateful WebSocket connections of hubwire's client, all held by the first
// node, stay idle while the nodes' and Redis's CPU time is measured for `seconds`, with recovery
// off and on in turns, `rounds` times. The difference is what the checkpoints cost: the holder's,
// its standby's (the other node) and Redis's.

const connections = Number(option("connections") ?? 1000);
const seconds = Number(option("seconds") ?? 10);
const rounds = Number(option("rounds") ?? 2);
const jsonFile = option("json");
/** The default heartbeat: every stateful connection is checkpointed once an interval. */
const heartbeatMs = 1000;

interface Measured {
  recovery: boolean;
  /** CPU time a second, in ms. */
  holderMs: number;
  standbyMs: number;
  redisMs: number;
  /** Bytes a second into Redis (publishes, commands). */
  redisInBytes: number;
}

const redis = await startOwnRedis();
const info = new Redis(redis.url);
const rows: Measured[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    for (const recovery of [false, true]) rows.push(await measure(redis, recovery, `recovery-bench-${round}-${recovery}`));
  }
} finally {
  info.disconnect();
  await redis.stop();
}
console.log(table(rows));
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), connections, seconds, turns: rows }, null, 2));

async function measure(redis: OwnRedis, recovery: boolean, channelPrefix: string): Promise<Measured> {
  const scaleOut = JSON.stringify({ recovery, heartbeatInterval: heartbeatMs });
  const nodes = [0, 1].map(() => new Child<ServerEvent, ServerCommand>("./server-process.js", ["hubwire-node", redis.url, channelPrefix, scaleOut], ["--expose-gc"]));
  const clients: HubConnection[] = [];
  try {
    const [holder] = await Promise.all(nodes.map(async (node) => (await node.next("ready", 15_000)).port));
    for (let i = 0; i < connections; i += 100) {
      const batch = Array.from(
        { length: Math.min(100, connections - i) },
        () => new HubConnection(`http://127.0.0.1:${holder}/bench`, { transports: ["WebSockets"], statefulReconnect: true, reconnect: false, logger: silentLogger }),
      );
      await Promise.all(batch.map((client) => client.start()));
      clients.push(...batch);
    }
    // Three heartbeats: every connection has a standby and its checkpoints flow.
    await new Promise((resolve) => setTimeout(resolve, 3 * heartbeatMs));
    for (const node of nodes) node.send({ kind: "reset" });
    const redisBefore = await redisFigures();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const reports = await Promise.all(
      nodes.map(async (node) => {
        node.send({ kind: "report" });
        return node.next("report", 15_000);
      }),
    );
    const redisAfter = await redisFigures();
    const perSecond = 1000 / (performance.now() - started);
    if (reports[0]!.connections !== connections) throw new Error(`the holder has ${reports[0]!.connections} connections, not ${connections}`);
    return {
      recovery,
      holderMs: (reports[0]!.cpuMicros / 1000) * perSecond,
      standbyMs: (reports[1]!.cpuMicros / 1000) * perSecond,
      redisMs: ((redisAfter.cpuMicros - redisBefore.cpuMicros) / 1000) * perSecond,
      redisInBytes: (redisAfter.inBytes - redisBefore.inBytes) * perSecond,
    };
  } finally {
    await Promise.all(clients.map((client) => client.stop().catch(() => {})));
    for (const node of nodes) node.kill();
  }
}

async function redisFigures(): Promise<{ cpuMicros: number; inBytes: number }> {
  const text = await info.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1] ?? 0);
  return { cpuMicros: (field("used_cpu_user") + field("used_cpu_sys")) * 1e6, inBytes: field("total_net_input_bytes") };
}

function table(measured: Measured[]): string {
  const mean = (recovery: boolean, pick: (m: Measured) => number) => {
    const of = measured.filter((m) => m.recovery === recovery).map(pick);
    return of.reduce((a, b) => a + b, 0) / of.length;
  };
  const row = (m: Measured, label: string) =>
    `| ${label} | ${m.holderMs.toFixed(1)} | ${m.standbyMs.toFixed(1)} | ${m.redisMs.toFixed(1)} | ${(m.redisInBytes / 1024).toFixed(1)} |`;
  const columns: Array<[string, (m: Measured) => number]> = [
    ["holderMs", (m) => m.holderMs],
    ["standbyMs", (m) => m.standbyMs],
    ["redisMs", (m) => m.redisMs],
    ["redisInBytes", (m) => m.redisInBytes],
  ];
  const difference = Object.fromEntries(columns.map(([name, pick]) => [name, mean(true, pick) - mean(false, pick)])) as unknown as Measured;
  return [
    `### crash recovery at rest: ${connections} idle stateful connections on one of two nodes, heartbeat ${heartbeatMs} ms, ${seconds} s a turn`,
    "",
    "| turn | holder CPU ms/s | standby CPU ms/s | Redis CPU ms/s | into Redis KB/s |",
    "|---|---|---|---|---|",
    ...measured.map((m, i) => row(m, `${Math.floor(i / 2) + 1}, recovery ${m.recovery ? "on" : "off"}`)),
    row(difference, "on - off, mean"),
    "",
    `Per connection checkpointed: holder ${((difference.holderMs * 1000) / connections).toFixed(1)} µs, standby ${((difference.standbyMs * 1000) / connections).toFixed(1)} µs, Redis ${((difference.redisMs * 1000) / connections).toFixed(1)} µs of CPU and ${(difference.redisInBytes / connections).toFixed(0)} bytes into Redis a second.`,
  ].join("\n");
}
