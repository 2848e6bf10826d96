import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterEach, describe, expect, it } from "vitest";
import { HubConnection as HubwireConnection } from "../../client/index.js";
import { messagePack } from "../../client/msgpack.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { waitFor } from "../support/wait.js";

// Stateful reconnect on one server under seeded faults: both sides exchange numbered messages
// (sends, invocations and their results, client results) at a steady rate while the socket is
// dropped at varied points. Nothing may be lost, run twice or arrive out of order.

const total = Number(process.env.FUZZ_TOTAL ?? 200);
// More seeds and messages for a longer run: FUZZ_SEEDS=1,2,3,4 FUZZ_TOTAL=600.
const seeds = (process.env.FUZZ_SEEDS ?? "1").split(",").map(Number);

/** A small seeded PRNG (mulberry32): the same faults, at the same points, for the same seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Arrivals of one numbered stream, in order. */
class Stream {
  readonly order: number[] = [];
  record(n: number): void {
    this.order.push(n);
  }
  report(count: number): { lost: number[]; duplicated: number[]; outOfOrder: number } {
    const seen = new Map<number, number>();
    let outOfOrder = 0;
    let max = 0;
    for (const n of this.order) {
      seen.set(n, (seen.get(n) ?? 0) + 1);
      if (n < max) outOfOrder++;
      max = Math.max(max, n);
    }
    const lost: number[] = [];
    for (let n = 1; n <= count; n++) if (!seen.has(n)) lost.push(n);
    return { lost, duplicated: [...seen].filter(([, c]) => c > 1).map(([n]) => n), outOfOrder };
  }
  get distinct(): number {
    return new Set(this.order).size;
  }
}

let serverSide = { ups: new Stream(), echoes: new Stream(), answers: new Stream() };

interface FuzzClient {
  down(n: number): void;
}

@HubClass()
class FuzzHub extends Hub<FuzzClient> {
  @HubMethod("Up")
  up(n: number): void {
    serverSide.ups.record(n);
  }

  @HubMethod("Echo")
  echo(n: number): number {
    serverSide.echoes.record(n);
    return n;
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }
}

/** A TCP proxy that can cut a connection after a given number of bytes one way, black-hole it, or reset it. */
interface Pair {
  client: Socket;
  upstream: Socket;
  webSocket: boolean;
  /** Bytes forwarded to the client after the HTTP head, and to the server. */
  toClient: number;
  toServer: number;
  headDone: { toClient: boolean; toServer: boolean };
  head: { toClient: string; toServer: string };
  /** Cut both sides once this many bytes went that way (the rest of the chunk is dropped). */
  limitToClient?: number;
  limitToServer?: number;
  holed: boolean;
}

interface FaultProxy {
  url: string;
  upgrades: number;
  /** Resets every open connection. */
  cut(): void;
  /** Lets `bytes` more through `direction` on the open WebSockets, then resets them (a cut mid-frame). */
  cutAfter(direction: "toClient" | "toServer", bytes: number): void;
  /** The next WebSocket is reset once `bytes` went `direction` past its HTTP head. */
  armNext(direction: "toClient" | "toServer", bytes: number, raw?: boolean): void;
  /** Swallows everything on the open connections; `reset` then resets their client sides. */
  blackHole(): { serverClosed: Promise<void>; reset(): void };
  close(): Promise<void>;
}

async function startFaultProxy(port: number): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let armed: { direction: "toClient" | "toServer"; bytes: number; raw: boolean } | undefined;
  let upgrades = 0;
  const kill = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  };
  const server: Server = createServer((client) => {
    const pair: Pair = { client, upstream: connect(port, "127.0.0.1"), webSocket: false, toClient: 0, toServer: 0, headDone: { toClient: false, toServer: false }, head: { toClient: "", toServer: "" }, holed: false };
    pairs.add(pair);
    client.once("data", (chunk: Buffer) => {
      pair.webSocket = /^upgrade: *websocket/im.test(chunk.toString("latin1"));
      if (!pair.webSocket) return;
      upgrades++;
      if (armed) {
        if (armed.raw) pair.headDone.toServer = pair.headDone.toClient = true; // counted from the first byte
        if (armed.direction === "toClient") pair.limitToClient = armed.bytes;
        else pair.limitToServer = armed.bytes;
        armed = undefined;
      }
    });
    const forward = (chunk: Buffer, toClient: boolean) => {
      if (pair.holed) return;
      const to = toClient ? client : pair.upstream;
      let part = chunk;
      const way = toClient ? "toClient" : "toServer";
      if (pair.webSocket && !pair.headDone[way]) {
        pair.head[way] += chunk.toString("latin1");
        const end = pair.head[way].indexOf("\r\n\r\n");
        if (end < 0) return void to.write(chunk);
        pair.headDone[way] = true;
        const bodyStart = chunk.length - (pair.head[way].length - (end + 4));
        to.write(chunk.subarray(0, bodyStart));
        part = chunk.subarray(bodyStart);
      }
      const limit = toClient ? pair.limitToClient : pair.limitToServer;
      const sent = toClient ? pair.toClient : pair.toServer;
      if (limit !== undefined && part.length > 0 && sent + part.length >= limit) {
        const keep = Math.max(0, limit - sent);
        if (keep > 0) to.write(part.subarray(0, keep));
        // Let the kept bytes reach the peer before the reset.
        to.write(Buffer.alloc(0), () => kill(pair));
        pair.holed = true;
        return;
      }
      if (toClient) pair.toClient += part.length;
      else pair.toServer += part.length;
      to.write(part);
    };
    client.on("data", (chunk: Buffer) => forward(chunk, false));
    pair.upstream.on("data", (chunk: Buffer) => forward(chunk, true));
    for (const [from, to] of [[client, pair.upstream], [pair.upstream, client]] as const) {
      from.on("error", () => {
        if (!pair.holed) to.destroy();
      });
      from.on("close", () => {
        if (!pair.holed) to.destroy();
        pairs.delete(pair);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get upgrades() {
      return upgrades;
    },
    cut: () => {
      for (const pair of [...pairs]) kill(pair);
    },
    cutAfter: (direction, bytes) => {
      for (const pair of pairs) {
        if (!pair.webSocket) continue;
        if (direction === "toClient") pair.limitToClient = pair.toClient + bytes;
        else pair.limitToServer = pair.toServer + bytes;
      }
    },
    armNext: (direction, bytes, raw = false) => {
      armed = { direction, bytes, raw };
    },
    blackHole: () => {
      const holed = [...pairs].filter((p) => p.webSocket);
      for (const pair of holed) pair.holed = true;
      const serverClosed = Promise.all(holed.map((p) => (p.upstream.destroyed ? undefined : new Promise<void>((r) => p.upstream.once("close", () => r()))))).then(() => undefined);
      return { serverClosed, reset: () => holed.forEach((p) => p.client.resetAndDestroy()) };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const pair of pairs) kill(pair);
        server.close(() => resolve());
      }),
  };
}

type Fault = "midFrameToClient" | "midFrameToServer" | "afterHandshakeAndSequence" | "ackInFlight" | "twice" | "halfOpen" | "duringReattach";
const faults: Fault[] = ["midFrameToClient", "midFrameToServer", "afterHandshakeAndSequence", "ackInFlight", "twice", "halfOpen", "duringReattach"];
/**
 * The official client tries one new socket per drop and closes for good if that one fails to
 * open. A reset that comes just as a new socket opens may reach it before it has read the
 * upgrade's answer (a reset discards what is unread): for that client the faults are drops of a
 * socket that is open, or the test would depend on timing.
 */
const officialFaults: Fault[] = ["midFrameToClient", "midFrameToServer", "ackInFlight", "halfOpen"];

/** What a client under test offers the fuzz loop. */
interface Peer {
  send(n: number): Promise<unknown>;
  echo(n: number): Promise<unknown>;
  id(): Promise<string>;
  connected(): boolean;
  closedWith(): string | undefined;
  stop(): Promise<void>;
}

describe("stateful reconnect under seeded faults", () => {
  let server: HubServer | undefined;
  let proxy: FaultProxy | undefined;
  let peer: Peer | undefined;
  afterEach(async () => {
    await peer?.stop();
    await proxy?.close();
    await server?.close();
    peer = proxy = server = undefined;
    serverSide = { ups: new Stream(), echoes: new Stream(), answers: new Stream() };
  });

  const cases = [] as Array<[string, "hubwire" | "official", "json" | "messagepack", number]>;
  for (const seed of seeds) {
    for (const client of ["hubwire", "official"] as const) for (const protocol of ["json", "messagepack"] as const) cases.push([`${client} ${protocol} seed ${seed}`, client, protocol, seed]);
  }

  it.each(cases)("%s: nothing lost, nothing twice, nothing out of order", async (_name, kind, protocol, seed) => {
    const random = prng(seed);
    server = new HubServer({ logger: silentLogger, allowStatefulReconnects: true, keepAliveInterval: 250, clientTimeoutInterval: 1000 });
    server.mapHub("/fuzz", FuzzHub);
    const listening = await server.listen();
    proxy = await startFaultProxy(listening.port);
    const url = `${proxy.url}/fuzz`;
    const downs = new Stream();
    const asks = new Stream();
    const replies = new Stream();
    const failures: string[] = [];
    let closed: string | undefined;
    if (kind === "hubwire") {
      const client = new HubwireConnection(url, {
        transports: ["WebSockets"],
        statefulReconnect: true,
        reconnect: false,
        logger: silentLogger,
        // Small: sends often wait for the server's acknowledgements to make room, across the drops too.
        statefulReconnectBufferSize: 1500,
        ...(protocol === "messagepack" ? { protocol: messagePack } : {}),
      });
      client.on("down", (n: number) => downs.record(n));
      client.on("ask", (n: number) => (asks.record(n), n));
      client.onClose((error) => (closed = String(error)));
      await client.start();
      peer = {
        send: (n) => client.send("Up", n),
        echo: (n) => client.invoke("Echo", n),
        id: () => client.invoke<string>("Id"),
        connected: () => client.state === "Connected",
        closedWith: () => closed,
        stop: () => client.stop(),
      };
    } else {
      let builder = new HubConnectionBuilder()
        .withUrl(url, { transport: HttpTransportType.WebSockets, skipNegotiation: false })
        .withStatefulReconnect()
        .configureLogging(LogLevel.None);
      if (protocol === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
      const client = builder.build();
      client.on("down", (n: number) => downs.record(n));
      client.on("ask", (n: number) => (asks.record(n), n));
      client.onclose((error) => (closed = String(error)));
      await client.start();
      peer = {
        send: (n) => client.send("Up", n),
        echo: (n) => client.invoke("Echo", n),
        id: () => client.invoke("Id"),
        connected: () => client.state === HubConnectionState.Connected,
        closedWith: () => closed,
        stop: () => client.stop(),
      };
    }
    const id = await peer.id();
    const hub = server.hubContext(FuzzHub);
    const caller = hub.clients.client(id) as unknown as { down(n: number): Promise<void>; withOptions(o: object): { invoke(m: string, ...a: unknown[]): Promise<unknown> } };

    // The faults of this seed, at the points (message numbers) they come.
    const plan: Array<{ at: number; fault: Fault; bytes: number }> = [];
    let at = 20;
    while (at < total - 40) {
      const kinds = kind === "hubwire" ? faults : officialFaults;
      const fault = kinds[Math.floor(random() * kinds.length)]!;
      plan.push({ at, fault, bytes: 1 + Math.floor(random() * 120) });
      at += 30 + Math.floor(random() * 50);
    }

    const applyFault = async ({ fault, bytes }: { fault: Fault; bytes: number }) => {
      const before = proxy!.upgrades;
      const reattached = (count = 1) => waitFor(() => proxy!.upgrades >= before + count && peer!.connected(), () => `a reattach after ${fault} (upgrades ${proxy!.upgrades - before}, connected ${peer!.connected()}, closed ${closed})`, 20_000);
      switch (fault) {
        case "midFrameToClient":
          proxy!.cutAfter("toClient", bytes);
          return reattached();
        case "midFrameToServer":
          proxy!.cutAfter("toServer", bytes);
          return reattached();
        case "afterHandshakeAndSequence":
          // The new socket goes right after its first frames (the Sequence, maybe some of the replay).
          proxy!.armNext("toClient", 2 + (bytes % 12));
          proxy!.cut();
          return reattached(2);
        case "ackInFlight":
          // Acks go once a second: wait for the next one's window, then cut.
          proxy!.cutAfter("toServer", bytes % 8);
          return reattached();
        case "twice":
          proxy!.cut();
          await waitFor(() => proxy!.upgrades > before, "the first reattach", 20_000);
          proxy!.cut();
          return reattached(2);
        case "halfOpen": {
          const hole = proxy!.blackHole();
          await hole.serverClosed;
          hole.reset();
          return reattached();
        }
        case "duringReattach":
          // Anywhere in the new socket's first bytes, its upgrade included (the client tries again).
          proxy!.armNext(bytes % 2 ? "toServer" : "toClient", bytes * 3, true);
          proxy!.cut();
          return reattached(2);
      }
    };

    const echoes: Promise<unknown>[] = [];
    const answers: Promise<unknown>[] = [];
    const sends: Promise<unknown>[] = [];
    let next = 0;
    for (let n = 1; n <= total; n++) {
      sends.push(peer.send(n).catch((e) => void failures.push(`send ${n}: ${String(e)}`)));
      echoes.push(peer.echo(n).then((r) => replies.record(r as number), (e) => void failures.push(`echo ${n}: ${String(e)}`)));
      sends.push(caller.down(n).catch((e) => void failures.push(`down ${n}: ${String(e)}`)));
      answers.push(
        caller
          .withOptions({ timeout: 60_000 })
          .invoke("ask", n)
          .then((r) => serverSide.answers.record(r as number), (e) => void failures.push(`ask ${n}: ${String(e)}`)),
      );
      if (plan[next]?.at === n) await applyFault(plan[next++]!);
      else await new Promise((resolve) => setTimeout(resolve, 2));
      if (closed) break;
    }
    await waitFor(
      () => closed !== undefined || (downs.distinct >= total && serverSide.ups.distinct >= total && replies.distinct >= total && serverSide.answers.distinct >= total),
      () => `every message (downs ${downs.distinct}, ups ${serverSide.ups.distinct}, replies ${replies.distinct}, answers ${serverSide.answers.distinct}, closed ${closed})`,
      30_000,
    );
    await Promise.all([...sends, ...echoes, ...answers]);
    const report = {
      plan: plan.map((p) => `${p.fault}@${p.at}/${p.bytes}`).join(" "),
      closed,
      failures: failures.slice(0, 5),
      ups: serverSide.ups.report(total),
      echoesRun: serverSide.echoes.report(total),
      replies: replies.report(total),
      downs: downs.report(total),
      asks: asks.report(total),
      answers: serverSide.answers.report(total),
    };
    const clean = { lost: [], duplicated: [], outOfOrder: 0 };
    expect(report).toEqual({ plan: report.plan, closed: undefined, failures: [], ups: clean, echoesRun: clean, replies: { ...clean, outOfOrder: report.replies.outOfOrder }, downs: clean, asks: clean, answers: { ...clean, outOfOrder: report.answers.outOfOrder } });
    expect(await peer.id()).toBe(id);
  }, 120_000);
});
