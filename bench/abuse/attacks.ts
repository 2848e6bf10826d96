import { Agent, request } from "node:http";
import type { HubServerOptions } from "../../src/index.js";
import { connect, type Socket } from "node:net";
import { Canary } from "./canary.js";
import { HubSocket, invocation, RS, type WireMessage } from "./hub-socket.js";

/** The server under attack, seen from outside: the same whether it runs in this process or another. */
export interface ServerProbe {
  /** Heap and buffers in use after a full garbage collection, in bytes. */
  memory(): Promise<number>;
  /** The process's resident set, in bytes. */
  rss(): Promise<number>;
  /** The share of one core the server used over the next `ms`. */
  cpu(ms: number): Promise<number>;
  /** What the attack hub has seen (see hubStats). */
  stats(): Promise<{ slowCalls: number; uploads: number; streams: number }>;
  /** Lets held calls finish. */
  release(): Promise<void>;
}

export interface AttackTarget {
  /** The attack hub, `http://127.0.0.1:port/abuse`. */
  url: string;
  probe: ServerProbe;
}

/** What an attack did (the facts a test asserts on), and how to stop it. */
export interface AttackRun {
  facts: Record<string, number>;
  end(): Promise<void>;
}

export interface Attack {
  name: string;
  /** Its size in the table of the attacks (the bench); tests run smaller ones. */
  fullSize: number;
  /** What the attacked server runs with besides its defaults: the bound the attack proves, where its default is too large for a run on loopback. */
  serverOptions?: HubServerOptions;
  run(target: AttackTarget, size: number): Promise<AttackRun>;
}

export interface AttackReport {
  name: string;
  size: number;
  facts: Record<string, number>;
  /** Growth of the server's heap and buffers while the attack holds, in bytes. */
  growth: number;
  /** Growth of its resident set, in bytes. */
  rssGrowth: number;
  canary: { calls: number; p99: number; max: number };
}

export interface CanaryHandle {
  stop(): Promise<AttackReport["canary"]>;
}

/**
 * Runs one attack with a canary beside it; the server's growth is taken while the attack holds.
 * `startCanary`: in this process by default; the bench runs it in a process of its own, so that
 * the attacking client's work does not delay it.
 */
export async function measureAttack(
  attack: Attack,
  target: AttackTarget,
  size = attack.fullSize,
  startCanary: (url: string) => Promise<CanaryHandle> = (url) => Canary.start(url),
): Promise<AttackReport> {
  const canary = await startCanary(target.url);
  const before = await target.probe.memory();
  const rssBefore = await target.probe.rss();
  let run: AttackRun | undefined;
  try {
    run = await attack.run(target, size);
    const peak = await target.probe.memory();
    const rssGrowth = (await target.probe.rss()) - rssBefore;
    const latencies = await canary.stop();
    return { name: attack.name, size, facts: run.facts, growth: peak - before, rssGrowth, canary: latencies };
  } finally {
    await canary.stop();
    await run?.end();
  }
}

const kib = 1024;

/** Calls of 30 KB to a slow async method, as fast as the server takes them. */
export const callFlood: Attack = {
  name: "slow-method call flood (30 KB calls)",
  fullSize: 20_000,
  async run({ url, probe }, calls) {
    const socket = await HubSocket.open(url);
    const payload = "x".repeat(30 * kib);
    let sent = 0;
    let stalled = 0;
    while (sent < calls) {
      socket.send(invocation(String(sent++), "Slow", [payload]));
      if (!(await socket.writable(256 * kib, 1000))) {
        stalled = 1;
        break;
      }
    }
    return {
      facts: { sent, stalled },
      end: closing(socket, probe),
    };
  },
};

/**
 * Echo calls, as fast as one socket takes them, for 3 s: past the hub's
 * maximumInvocationsPerSecondPerClient they wait their turn, then stay unread in the socket.
 * `serverCpuPercent` is the server's share of one core over the 3 s; `ms`, how long the window
 * took (the rate bounds `answered` by its burst plus a second's worth a second).
 */
export const callRateFlood: Attack = {
  name: "echo calls as fast as one socket sends them, for 3 s, past maximumInvocationsPerSecondPerClient (100)",
  fullSize: 1_000_000,
  serverOptions: { maximumInvocationsPerSecondPerClient: 100 },
  async run({ url, probe }, calls) {
    const socket = await HubSocket.open(url);
    let answered = 0;
    socket.onMessage = (message: WireMessage) => {
      if (message.type === 3) answered++;
    };
    const { sent, ms, serverCpuPercent } = await forThreeSeconds(socket, probe, calls, 64 * kib, async (sent) => {
      const batch = Math.min(100, calls - sent);
      for (let i = 0; i < batch; i++) socket.send(invocation(String(sent + i), "Echo", ["x"]));
      await new Promise((resolve) => setImmediate(resolve)); // reads the answers: a server does not write forever to a client that does not read
      return batch;
    });
    return {
      facts: { sent, answered, ms, serverCpuPercent },
      end: closing(socket, probe),
    };
  },
};

/**
 * Pings, `perMessage` to a WebSocket message, as fast as one socket takes them, for 3 s:
 * messages that ask for nothing but cost the server their parsing. `mb` is what the server took.
 */
/** Pings, `perMessage` to a WebSocket message (`size`, for its name), sent as fast as one socket takes them for 3 s. */
export function pingFlood(perMessage: number, size: string): Attack {
  return {
    name: `pings (${perMessage.toLocaleString("en-US")} to a ${size} message) as fast as one socket sends them, for 3 s`,
    fullSize: 100_000,
    async run({ url, probe }, messages) {
      const socket = await HubSocket.open(url);
      let closedByServer = false;
      void socket.closed.then(() => (closedByServer = true));
      const frame = `{"type":6}${RS}`.repeat(perMessage);
      const { sent, ms, serverCpuPercent } = await forThreeSeconds(socket, probe, messages, Math.max(256 * kib, 2 * frame.length), () => {
        socket.send(frame);
        return 1;
      });
      return {
        facts: { mb: Math.round(((sent * frame.length - socket.buffered) / 1024 / 1024) * 10) / 10, ms, serverCpuPercent, closedByServer: closedByServer ? 1 : 0 },
        end: closing(socket, probe),
      };
    },
  };
}

export const smallPingMessages = pingFlood(6_000, "64 KB");
/** The largest message the server takes by default (see maxIncomingPayload): a client's one message is handled in turns too. */
export const largePingMessages = pingFlood(95_000, "1 MB");
/** Past what ws takes whole: each message is read in pieces of whole hub messages (see FrameReader). */
export const hugePingMessages = pingFlood(760_000, "8 MB");

/**
 * Sends with `batch` (which says how many it sent) as fast as the socket takes it, pausing while
 * it holds `holdBytes`, until `count` are sent or 3 s have passed: how many were sent, how long it
 * took, and the server's share of one core over the 3 s.
 */
async function forThreeSeconds(
  socket: HubSocket,
  probe: ServerProbe,
  count: number,
  holdBytes: number,
  batch: (sent: number) => number | Promise<number>,
): Promise<{ sent: number; ms: number; serverCpuPercent: number }> {
  const windowMs = 3000;
  const started = performance.now();
  const cpu = probe.cpu(windowMs);
  let sent = 0;
  while (sent < count && performance.now() - started < windowMs) {
    sent += await batch(sent);
    await socket.writable(holdBytes, Math.max(1, windowMs - (performance.now() - started)));
  }
  const share = await cpu;
  return { sent, ms: Math.round(performance.now() - started), serverCpuPercent: Math.round(share * 100) };
}

/** Concurrent 1 MB long-polling POSTs while the connection takes no data (its calls wait). */
export const postFlood: Attack = {
  name: "concurrent 1 MB long-polling POSTs while paused",
  fullSize: 600,
  async run({ url, probe }, posts) {
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const negotiated = JSON.parse((await httpRequest(`${url}/negotiate?negotiateVersion=1`, "POST", undefined, agent)).text) as {
      connectionToken: string;
    };
    const at = `${url}?id=${encodeURIComponent(negotiated.connectionToken)}`;
    await httpRequest(at, "GET", undefined, agent); // the first poll: the connection is up
    await httpRequest(at, "POST", Buffer.from(`{"protocol":"json","version":1}${RS}`), agent);
    // Slow calls enough to fill the connection's queue: it stops taking data.
    const calls = Array.from({ length: 80 }, (_, i) => invocation(String(i), "Slow", [""])).join("");
    await httpRequest(at, "POST", Buffer.from(calls), agent);
    const ping = Buffer.from(`{"type":6}${RS}`);
    const body = Buffer.alloc(Math.floor((1024 * kib) / ping.length) * ping.length, ping); // shared by every POST
    const statuses: number[] = [];
    const replies = Array.from({ length: posts }, () =>
      httpRequest(at, "POST", body, agent).then(
        (reply) => statuses.push(reply.status),
        () => statuses.push(0), // reset after a refusal, before the body was sent
      ),
    );
    // All but the few a connection lets wait are refused at once; the rest wait, unread.
    await until(() => statuses.length >= posts - 9, 15_000);
    const count = (status: number) => statuses.filter((s) => s === status).length;
    return {
      facts: { answered: statuses.length, refused: statuses.length - count(200), accepted: count(200) },
      async end() {
        await probe.release();
        await Promise.all(replies);
        await httpRequest(at, "DELETE", undefined, agent).catch(() => undefined);
        agent.destroy();
      },
    };
  },
};

/**
 * Negotiates that never open their transport, 16 at a time: the server keeps at most
 * `maximumNegotiatedConnections` of them, the ones that waited longest dropped first.
 */
export const negotiateFlood: Attack = {
  name: "negotiates that never open their transport",
  fullSize: 50_000,
  async run({ url }, count) {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const negotiateOne = async () =>
      (JSON.parse((await httpRequest(`${url}/negotiate?negotiateVersion=1`, "POST", undefined, agent)).text) as { connectionToken: string })
        .connectionToken;
    // The oldest connection's token is the only one kept: the attacker holds next to nothing.
    const oldest = await negotiateOne();
    let negotiated = 1;
    const negotiateOn = async (): Promise<void> => {
      while (negotiated < count) {
        negotiated++; // counted before it is sent, so that the 16 together send `count`
        await negotiateOne();
      }
    };
    await Promise.all(Array.from({ length: 16 }, negotiateOn));
    // Its transport request: 404 once it has been dropped.
    const first = await httpRequest(`${url}?id=${encodeURIComponent(oldest)}`, "GET", undefined, agent);
    return {
      facts: { negotiated, oldestDropped: first.status === 404 ? 1 : 0 },
      async end() {
        agent.destroy();
      },
    };
  },
};

/**
 * WebSockets opened (each with its handshake) and held, 16 at a time: the server keeps as many
 * as `maximumConnections` allows, the canary's among them, and answers the rest 503.
 */
export const connectionFlood: Attack = {
  name: "WebSockets held open past maximumConnections (1,000)",
  fullSize: 5000,
  serverOptions: { maximumConnections: 1000 },
  run: ({ url }, count) => holdOpen(count, () => HubSocket.open(url), "503"),
};

/** One user's WebSockets, opened 16 at a time and held, past the hub's maximumConnectionsPerUser. */
export const userConnectionFlood: Attack = {
  name: "one user's WebSockets held open past maximumConnectionsPerUser (100)",
  fullSize: 5000,
  serverOptions: { maximumConnectionsPerUser: 100 },
  run: ({ url }, count) => holdOpen(count, () => HubSocket.open(url, "mallory"), "Too many connections for this user."),
};

/** Opens `count` WebSockets, 16 at a time, and holds those the server takes; a failure that names `refusal` is counted. */
async function holdOpen(count: number, open: () => Promise<HubSocket>, refusal: string): Promise<AttackRun> {
  const held: HubSocket[] = [];
  let refused = 0;
  let tried = 0;
  const openOn = async (): Promise<void> => {
    while (tried < count) {
      tried++; // counted before it is opened, so that the 16 together open `count`
      try {
        held.push(await open());
      } catch (error) {
        if (!String(error).includes(refusal)) throw error;
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, openOn));
  return {
    facts: { opened: held.length, refused },
    async end() {
      for (const socket of held) socket.close();
      await Promise.all(held.map((socket) => socket.closed));
    },
  };
}

/** Upload streams opened and never completed, 9 items of 30 KB each. */
export const uploadFlood: Attack = {
  name: "upload streams never completed (9 x 30 KB each)",
  fullSize: 1500,
  async run({ url, probe }, streams) {
    const socket = await HubSocket.open(url);
    let refused = 0;
    let limitText = "";
    socket.onMessage = (message: WireMessage) => {
      if (message.type === 3 && message.error?.includes("upload streams")) {
        refused++;
        limitText = message.error;
      }
    };
    const item = "u".repeat(30 * kib);
    for (let i = 0; i < streams; i++) {
      socket.send(invocation(String(i), "Upload", [], [`u${i}`]));
      for (let j = 0; j < 9; j++) socket.send(`{"type":2,"invocationId":"u${i}","item":"${item}"}${RS}`);
      if (!(await socket.writable(1024 * kib, 5000))) break;
    }
    await until(() => refused >= streams - 10, 15_000);
    const { uploads } = await probe.stats();
    return {
      facts: { refused, running: uploads, textSeen: limitText ? 1 : 0 },
      end: closing(socket, probe),
    };
  },
};

/**
 * Server-to-client streams to a client that stops reading once each of its calls has been
 * answered: started, or refused past maximumStreamsPerClient.
 */
export const streamFlood: Attack = {
  name: "server streams to a client that stops reading",
  fullSize: 5000,
  async run({ url, probe }, streams) {
    const socket = await HubSocket.open(url);
    let refused = 0;
    let limitText = "";
    socket.onMessage = (message: WireMessage) => {
      if (message.type === 3 && message.error?.includes("server streams")) {
        refused++;
        limitText = message.error;
      }
    };
    for (let i = 0; i < streams; i += 500) {
      const batch = Array.from({ length: Math.min(500, streams - i) }, (_, j) =>
        JSON.stringify({ type: 4, invocationId: String(i + j), target: "Forever", arguments: [] }) + RS,
      );
      socket.send(batch.join(""));
    }
    await until(async () => refused + (await probe.stats()).streams >= streams, 15_000);
    socket.stopReading();
    // The streams fill the sockets' buffers (the kernel's grow for a while), then all wait.
    for (let i = 0; i < 10 && (await probe.cpu(500)) > 0.05; i++);
    const cpu = await probe.cpu(1000);
    return {
      facts: { started: (await probe.stats()).streams, refused, textSeen: limitText ? 1 : 0, cpuPercent: Math.round(cpu * 1000) / 10 },
      end: closing(socket),
    };
  },
};

/** Group joins on one connection, each a new group. */
export const groupFlood: Attack = {
  name: "group joins on one connection",
  fullSize: 200_000,
  async run({ url }, joins) {
    const socket = await HubSocket.open(url);
    let joined = 0;
    let refused = 0;
    let answered = 0;
    let wake: (() => void) | undefined;
    socket.onMessage = (message) => {
      if (message.type !== 3) return;
      answered++;
      if (message.error === undefined) joined++;
      else if (message.error.includes("at most")) refused++;
      wake?.();
    };
    for (let i = 0; i < joins; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, joins - i) }, (_, j) => invocation(String(i + j), "Join", [`group-${i + j}`]));
      socket.send(batch.join(""));
      const target = i + batch.length;
      while (answered < target) await new Promise<void>((resolve) => (wake = resolve));
    }
    return {
      facts: { joined, refused },
      end: closing(socket),
    };
  },
};

/** Sockets that send their headers (a request's, or a WebSocket upgrade's) a byte at a time, never finishing. */
export function slowloris(closeWithinMs: number): Attack {
  return {
    name: "slowloris sockets (partial headers, partial upgrade)",
    fullSize: 2000,
    async run({ url }, count) {
      const { hostname, port } = new URL(url);
      const sockets: Socket[] = [];
      let closed = 0;
      const opened = Array.from({ length: count }, (_, i) => {
        const socket = connect(Number(port), hostname);
        sockets.push(socket);
        socket.on("error", () => {});
        socket.on("close", () => closed++);
        return new Promise<void>((resolve) =>
          socket.once("connect", () => {
            socket.write(
              i % 2 === 0
                ? `GET /abuse/negotiate HTTP/1.1\r\nHost: ${hostname}\r\nX-Slow: `
                : `GET /abuse HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Ver`,
            );
            resolve();
          }).once("close", () => resolve()),
        );
      });
      await Promise.all(opened);
      const started = performance.now();
      // A byte now and then, as slowloris does, so that no idle timeout helps.
      const trickle = setInterval(() => {
        for (const socket of sockets) if (!socket.destroyed) socket.write("a");
      }, 500);
      try {
        await until(() => closed === count, closeWithinMs).catch(() => undefined);
      } finally {
        clearInterval(trickle);
      }
      return {
        facts: { stillOpen: count - closed, allClosedAfterMs: closed === count ? Math.round(performance.now() - started) : -1 },
        async end() {
          for (const socket of sockets) socket.destroy();
        },
      };
    },
  };
}

/** An attack's end on one socket: closes it and waits until it is closed, then lets held calls finish. */
function closing(socket: HubSocket, probe?: ServerProbe): () => Promise<void> {
  return async () => {
    socket.close();
    await socket.closed;
    await probe?.release();
  };
}

/** Waits until `condition` holds, looking again on every turn of the event loop; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function httpRequest(url: string, method: string, body: Buffer | undefined, agent: Agent): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body ? { "Content-Type": "text/plain;charset=UTF-8", "Content-Length": body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      res.on("error", () => resolve({ status: res.statusCode!, text: "" }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
