import { createServer, connect, type Server } from "node:net";
import { HubConnection, silentLogger, type TransportKind } from "../client/index.js";
import { HubMultiplexer } from "../client/multiplex.js";
import { Child } from "./child.js";
import type { ServerCommand, ServerEvent } from "./protocol.js";
import { Samples } from "./stats.js";
import { option } from "./args.js";

// `npm run bench:pages -- [--pages <n>] [--idle <s>]`: a page that uses three hubs, over three
// connections (a HubConnection each, as SignalR's clients do) against one (a HubMultiplexer):
// how long a page takes to connect, the server's memory per page, and the keep-alive traffic of
// an idle page. hubwire's own client, in this process; the server (the bench's hubwire target,
// the bench hub at /bench and multiplexing at /hubs) in a process of its own, with default options.

const pages = Number(option("pages") ?? 200);
/** Idle seconds over which keep-alive bytes are counted: two of the default 15 s intervals. */
const idleSeconds = Number(option("idle") ?? 31);
const hubsPerPage = 3;

interface Page {
  hubs: HubConnection[];
  stop(): Promise<void>;
}

type Shape = "three connections" | "one multiplexed";

function openPage(shape: Shape, base: string, transport: TransportKind): Page {
  const options = { transports: [transport], logger: silentLogger, reconnect: false };
  if (shape === "three connections") {
    const hubs = Array.from({ length: hubsPerPage }, () => new HubConnection(`${base}/bench`, options));
    return { hubs, stop: async () => void (await Promise.all(hubs.map((hub) => hub.stop()))) };
  }
  const multiplexer = new HubMultiplexer(`${base}/hubs`, options);
  const hubs = Array.from({ length: hubsPerPage }, () => multiplexer.hub("/bench"));
  return { hubs, stop: () => multiplexer.stop() };
}

/** A TCP relay in front of the server that counts the bytes each way. */
async function countingRelay(port: number): Promise<{ url: string; bytes: { up: number; down: number }; close(): void }> {
  const bytes = { up: 0, down: 0 };
  const server: Server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    client.on("data", (chunk) => void ((bytes.up += chunk.length), upstream.write(chunk)));
    upstream.on("data", (chunk) => void ((bytes.down += chunk.length), client.write(chunk)));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, bytes, close: () => server.close() };
}

async function report(server: Child<ServerEvent, ServerCommand>): Promise<Extract<ServerEvent, { kind: "report" }>> {
  server.send({ kind: "report", collect: true });
  return server.next("report", 30_000);
}

interface Figures {
  transport: TransportKind;
  shape: Shape;
  connectMedianMs: number;
  connectP90Ms: number;
  heapPerPageKB: number;
  rssPerPageKB: number;
  serverConnections: number;
  keepAliveBytesPerPageMinute: number | undefined;
}

async function measure(shape: Shape, transport: TransportKind): Promise<Figures> {
  const server = new Child<ServerEvent, ServerCommand>("./server-process.js", ["hubwire"], ["--expose-gc"]);
  const { port } = await server.next("ready", 30_000);
  const relay = await countingRelay(port);
  const opened: Page[] = [];
  try {
    // A few pages first, uncounted, so that what is measured finds the server's code compiled.
    for (let i = 0; i < 20; i++) {
      const page = openPage(shape, relay.url, transport);
      await Promise.all(page.hubs.map((hub) => hub.start()));
      await page.stop();
    }
    const before = await report(server);
    const times = new Samples();
    // One page at a time: the time is the page's own, not a queue's.
    for (let i = 0; i < pages; i++) {
      const page = openPage(shape, relay.url, transport);
      const began = performance.now();
      await Promise.all(page.hubs.map((hub) => hub.start()));
      times.add(Math.round((performance.now() - began) * 1000));
      opened.push(page);
    }
    const after = await report(server);
    let keepAlive: number | undefined;
    // Long polling's keep-alive is its polls, held 90 s by default: not measured here.
    if (transport !== "LongPolling") {
      const start = relay.bytes.up + relay.bytes.down;
      await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
      keepAlive = ((relay.bytes.up + relay.bytes.down - start) / pages) * (60 / idleSeconds);
    }
    const [median, p90] = times.percentiles(50, 90);
    return {
      transport,
      shape,
      connectMedianMs: median! / 1000,
      connectP90Ms: p90! / 1000,
      heapPerPageKB: (after.heapBytes - before.heapBytes) / pages / 1024,
      rssPerPageKB: (after.rssBytes - before.rssBytes) / pages / 1024,
      serverConnections: after.connections,
      keepAliveBytesPerPageMinute: keepAlive,
    };
  } finally {
    await Promise.all(opened.map((page) => page.stop().catch(() => {})));
    relay.close();
    await server.stop(10_000);
  }
}

console.log(`hubwire bench: a page with ${hubsPerPage} hubs, ${pages} pages at once, Node ${process.version}\n`);
console.log("| transport | page | connect median ms | connect p90 ms | server heap per page KB | server RSS per page KB | server connections | keep-alive bytes per page per minute |");
console.log("|---|---|---|---|---|---|---|---|");
for (const transport of ["WebSockets", "LongPolling"] as const) {
  for (const shape of ["three connections", "one multiplexed"] as const) {
    const f = await measure(shape, transport);
    const keepAlive = f.keepAliveBytesPerPageMinute === undefined ? "polls" : Math.round(f.keepAliveBytesPerPageMinute).toString();
    console.log(
      `| ${f.transport} | ${f.shape} | ${f.connectMedianMs.toFixed(2)} | ${f.connectP90Ms.toFixed(2)} | ${f.heapPerPageKB.toFixed(1)} | ${f.rssPerPageKB.toFixed(1)} | ${f.serverConnections} | ${keepAlive} |`,
    );
  }
}
process.exit(0);
