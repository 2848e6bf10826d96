import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flag, option } from "./args.js";
import { Child } from "./child.js";
import { serverOf, type LoaderCommand, type LoaderEvent, type ServerCommand, type ServerEvent, type TargetName } from "./protocol.js";
import { startOwnRedis, type OwnRedis } from "./redis-server.js";
import { serverChild } from "./server-child.js";

// `npm run bench:heap -- [--targets ws,hubwire-json] [--connections 5000] [--top 30] [--scale-out]`:
// what an idle connection holds in the server's JavaScript heap. A heap snapshot is taken (after
// a full collection) before and after the loader opens the connections; the objects of the second
// that the first did not have are summed by kind and name, per connection. Unlike memory read from
// the process, this does not move with the host's load, and it names what the bytes are.
// `--scale-out`: hubwire's targets run as a node of a cluster, on a Redis this starts (each
// connection then has its channel there).

const targets = (option("targets")?.split(",") ?? ["ws", "hubwire-json"]) as TargetName[];
const connections = Number(option("connections") ?? 5000);
const top = Number(option("top") ?? 30);
/** Keeps the snapshots in this folder (before-<target> and after-<target>), for a closer look in DevTools. */
const keep = option("keep");
const redis: OwnRedis | undefined = flag("scale-out") ? await startOwnRedis() : undefined;

try {
  for (const target of targets) {
    const { perConnection, groups } = await measure(target);
    const outside = groups.filter((g) => !inHeap(g.type)).reduce((sum, g) => sum + g.bytes, 0) / connections;
    console.log(
      `### ${target}${redis && serverOf[target] === "hubwire" ? " (a cluster's node)" : ""}: ${Math.round(perConnection - outside)} bytes of JavaScript heap per idle connection, ` +
        `${Math.round(perConnection)} with what the snapshot counts of Node's native objects (${connections} connections)\n`,
    );
    console.log("| kind | name | count per connection | bytes per connection |");
    console.log("|---|---|---|---|");
    for (const g of groups.slice(0, top)) {
      console.log(`| ${g.type} | ${g.name.slice(0, 60).replaceAll("|", "\\|").replaceAll("\n", " ")} | ${(g.count / connections).toFixed(2)} | ${(g.bytes / connections).toFixed(1)} |`);
    }
    console.log("");
  }
} finally {
  await redis?.stop(); // a redis-server must not outlive the run
}
process.exit(0);

/** The target's server: hubwire's, with `--scale-out`, as a cluster's node on `redis`. */
function startServer(target: TargetName): Child<ServerEvent, ServerCommand> {
  if (!redis || serverOf[target] !== "hubwire") return serverChild(target);
  return new Child("./server-process.js", ["hubwire-node", redis.url, "heap"], ["--expose-gc"]);
}

async function measure(target: TargetName): Promise<{ perConnection: number; groups: Group[] }> {
  if (keep) mkdirSync(keep, { recursive: true });
  const dir = keep ?? mkdtempSync(join(tmpdir(), "hubwire-heap-"));
  const server = startServer(target);
  const loader = new Child<LoaderEvent | { kind: "failed"; error: string }, LoaderCommand>("./loader-process.js", [], []);
  try {
    const { port } = await server.next("ready", 15_000);
    // A few connections first, so that what the first connection makes once (code, caches) is in both snapshots.
    loader.send({ kind: "config", config: { target, scenario: "idle", port, connections: 100, inFlight: 0, durationMs: 0, payloadBytes: 32, groups: 0, rate: 0 } });
    await loader.next("connected", 60_000);
    loader.send({ kind: "go" });
    await loader.next("result", 120_000);
    server.send({ kind: "snapshot", path: join(dir, `before-${target}.heapsnapshot`) });
    const before = await server.next("snapshot", 120_000);
    loader.send({ kind: "config", config: { target, scenario: "idle", port, connections, inFlight: 0, durationMs: 0, payloadBytes: 32, groups: 0, rate: 0 } });
    await loader.next("connected", 60_000);
    loader.send({ kind: "go" });
    await loader.next("result", 300_000);
    server.send({ kind: "snapshot", path: join(dir, `after-${target}.heapsnapshot`) });
    const after = await server.next("snapshot", 120_000);
    const kept = ids(readSnapshot(before.path));
    const added = new Map<string, Group>();
    let total = 0;
    let removed = 0;
    const last = readSnapshot(after.path);
    const seen = new Set<number>();
    forEachNode(last, (type, name, id, size) => {
      seen.add(id);
      if (kept.has(id)) return;
      total += size;
      const key = `${type}\u0000${name}`;
      const group = added.get(key) ?? { type, name, count: 0, bytes: 0 };
      group.count++;
      group.bytes += size;
      added.set(key, group);
    });
    // What the first snapshot had and the second has not (garbage of the warm-up) is left out of
    // the sum above; it is counted back so the total is the heap's growth.
    forEachNode(readSnapshot(before.path), (_type, _name, id, size) => {
      if (!seen.has(id)) removed += size;
    });
    const groups = [...added.values()].sort((a, b) => b.bytes - a.bytes);
    return { perConnection: (total - removed) / connections, groups };
  } finally {
    loader.kill();
    server.kill();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** The snapshot's "synthetic" and "native" nodes are Node's objects outside the engine's heap (a socket's handle, ...). */
function inHeap(type: string): boolean {
  return type !== "synthetic" && type !== "native";
}

interface Group {
  type: string;
  name: string;
  count: number;
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function readSnapshot(path: string): Snapshot {
  return JSON.parse(readFileSync(path, "utf8")) as Snapshot;
}

function forEachNode(snapshot: Snapshot, visit: (type: string, name: string, id: number, size: number) => void): void {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const idAt = fields.indexOf("id");
  const sizeAt = fields.indexOf("self_size");
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!]!;
    // Strings are grouped as one: their text is the connection's own (ids, addresses).
    const name = type === "string" || type === "concatenated string" || type === "sliced string" ? "" : strings[nodes[i + nameAt]!]!;
    visit(type, name, nodes[i + idAt]!, nodes[i + sizeAt]!);
  }
}

function ids(snapshot: Snapshot): Set<number> {
  const set = new Set<number>();
  forEachNode(snapshot, (_type, _name, id) => set.add(id));
  return set;
}
