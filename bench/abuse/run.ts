import { Child } from "../child.js";
import {
  callFlood,
  callRateFlood,
  connectionFlood,
  groupFlood,
  hugePingMessages,
  largePingMessages,
  measureAttack,
  negotiateFlood,
  postFlood,
  slowloris,
  smallPingMessages,
  streamFlood,
  uploadFlood,
  userConnectionFlood,
  type Attack,
  type AttackReport,
  type CanaryHandle,
  type ServerProbe,
} from "./attacks.js";
import type { CanaryCommand, CanaryEvent } from "./canary-process.js";
import type { AbuseServerCommand, AbuseServerEvent } from "./server-process.js";

// `npm run bench:abuse -- [--attacks calls,posts,uploads,streams,groups,negotiates,connections,user-connections,call-rate,pings,large-pings,huge-pings,slowloris] [--scale <0..1>] [--unbounded]`
// Each attack of the abuse suite at full size (the sizes of the attack pass that found them),
// against a server in its own process with default options (but for what an attack's
// serverOptions name), a canary client in a third process
// (the attacker's own work must not delay it). Reports
// the server's growth while the attack holds and the canary's latency. Goal: under 50 MB, and
// the canary's p99 under 1 s.

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const scale = Number(option("scale") ?? 1);
/** The attacks against a server with its defaults alone, without the bounds they name: what each bound saves. */
const unbounded = args.includes("--unbounded");
const attacks: Record<string, Attack> = {
  calls: callFlood,
  posts: postFlood,
  uploads: uploadFlood,
  streams: streamFlood,
  groups: groupFlood,
  negotiates: negotiateFlood,
  connections: connectionFlood,
  "user-connections": userConnectionFlood,
  "call-rate": callRateFlood,
  pings: smallPingMessages,
  "large-pings": largePingMessages,
  "huge-pings": hugePingMessages,
  // The default headersTimeout is 10 s: every socket should be gone within 12.
  slowloris: slowloris(15_000),
};
const chosen = option("attacks")?.split(",") ?? Object.keys(attacks);

const hardDeadline = setTimeout(() => {
  console.error("bench:abuse: hard time limit reached, stopping");
  process.exit(2);
}, 15 * 60_000);
hardDeadline.unref();

/** A probe of the server child over IPC. */
function probeOf(child: Child<AbuseServerEvent | { kind: "failed"; error: string }, AbuseServerCommand>): ServerProbe {
  const ask = async <K extends AbuseServerEvent["kind"]>(command: AbuseServerCommand, kind: K) => {
    child.send(command);
    return (await child.next(kind, 30_000)) as Extract<AbuseServerEvent, { kind: K }>;
  };
  return {
    memory: async () => (await ask({ kind: "memory" }, "memory")).bytes,
    rss: async () => (await ask({ kind: "memory" }, "memory")).rss,
    cpu: async (ms) => (await ask({ kind: "cpu", ms }, "cpu")).share,
    stats: async () => {
      const { slowCalls, uploads, streams } = await ask({ kind: "stats" }, "stats");
      return { slowCalls, uploads, streams };
    },
    release: async () => void (await ask({ kind: "release" }, "released")),
  };
}

/** A canary in a process of its own. */
async function startCanary(url: string): Promise<CanaryHandle> {
  const child = new Child<CanaryEvent | { kind: "failed"; error: string }, CanaryCommand>("./abuse/canary-process.js", [url], []);
  await child.next("ready", 30_000);
  let stopped: Promise<AttackReport["canary"]> | undefined;
  return {
    stop: () =>
      (stopped ??= (async () => {
        child.send({ kind: "stop" });
        const { calls, p99, max } = await child.next("stopped", 30_000);
        await child.stop(5000);
        return { calls, p99, max };
      })()),
  };
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const rows: string[] = [];
console.log(
  `hubwire abuse bench: Node ${process.version}, scale ${scale}; one server process per attack, default options` +
    `${unbounded ? " (--unbounded: not even the bounds the attacks name)" : " but for those an attack names"}\n`,
);
for (const key of chosen) {
  const attack = attacks[key];
  if (!attack) throw new Error(`unknown attack '${key}' (have ${Object.keys(attacks).join(", ")})`);
  const serverArgs = [JSON.stringify(unbounded ? {} : (attack.serverOptions ?? {}))];
  const child = new Child<AbuseServerEvent | { kind: "failed"; error: string }, AbuseServerCommand>("./abuse/server-process.js", serverArgs, ["--expose-gc"]);
  try {
    const { url } = await child.next("ready", 30_000);
    const size = Math.max(1, Math.round(attack.fullSize * scale));
    const report: AttackReport = await measureAttack(attack, { url, probe: probeOf(child) }, size, startCanary);
    const facts = Object.entries(report.facts).map(([k, v]) => `${k} ${v}`).join(", ");
    const row = `| ${attack.name} | ${size.toLocaleString("en-US")} | ${mb(report.growth)} | ${mb(report.rssGrowth)} | ${report.canary.calls} | ${report.canary.p99.toFixed(0)} | ${report.canary.max.toFixed(0)} | ${facts} |`;
    console.log(row);
    rows.push(row);
  } finally {
    await child.stop(5000);
  }
}
console.log("\n| attack | size | server heap + buffers growth, MB | RSS growth, MB | canary calls | canary p99, ms | canary max, ms | facts |");
console.log("|---|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
process.exit(0);
