import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/** A TCP proxy on loopback in front of a server, to cut connections the way a network does. */
export interface TcpProxy {
  /** `http://127.0.0.1:<proxy port>` */
  url: string;
  /** Destroys every open connection (the peers see a reset, not a close handshake). */
  cut(): void;
  /**
   * Black-holes every open connection: from now on nothing is forwarded either way, and neither
   * side is closed or told when the other closes (a network that silently drops everything).
   * Connections made later are forwarded as usual. With `only: "fromServer"`, what the clients
   * send still reaches the server, and only its answers are swallowed (a request that arrives but
   * whose answer is lost).
   */
  blackHole(options?: { only?: "fromServer" }): BlackHole;
  /**
   * A half-open drop: black-holes every open connection and resets its client's side at once, so
   * the client sees its connection gone while the server's side stays open and hears nothing.
   */
  halfOpen(): BlackHole;
  /** The request target (path and query) of each WebSocket upgrade forwarded, in order. */
  readonly upgrades: string[];
  /**
   * A slow, uneven network from now on: a third of what arrives either way, at random, is held
   * up to `maxDelayMs` before it is forwarded, and what comes after it waits its turn (order is
   * kept, as TCP keeps it). 0 forwards at once again.
   */
  slow(maxDelayMs: number): void;
  /** While refusing, new connections are destroyed as they arrive. */
  refuse(refusing: boolean): void;
  /** How many connections were refused so far. */
  readonly refused: number;
  close(): Promise<void>;
}

/** The connections a black hole swallowed. */
export interface BlackHole {
  /**
   * Resolves once the server has closed its side of each WebSocket among them (idle HTTP
   * keep-alive connections close on their own schedule and are not waited for).
   */
  webSocketsClosedByServer: Promise<void>;
  /** Bytes each side sent into the hole (lost on the way), counted as they arrive. */
  readonly swallowed: { fromClients: number; fromServer: number };
  /** Resets their client sides, as a client's network stack does when it notices the loss. */
  resetClients(): void;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Set when black-holed: where the bytes that are no longer forwarded are counted. */
  holed: BlackHole["swallowed"] | undefined;
  /** Set when only the server's side is swallowed. */
  holedFromServerOnly?: boolean;
  /** The client asked for a WebSocket upgrade on it. */
  webSocket: boolean;
}

/**
 * Forwards chunks `to` a socket at their times, in order: each no earlier than the one before
 * it (see TcpProxy.slow).
 */
class DelayedWrites {
  private readonly waiting: Array<{ chunk: Buffer; at: number }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastAt = 0;
  /** What to do to `to` once what waits was written: end it, or destroy it. */
  private then: "end" | "destroy" | undefined;

  constructor(private readonly to: Socket) {}

  get idle(): boolean {
    return this.waiting.length === 0;
  }

  push(chunk: Buffer, delayMs: number): void {
    this.lastAt = Math.max(this.lastAt, performance.now() + delayMs);
    this.waiting.push({ chunk, at: this.lastAt });
    this.timer ??= setTimeout(this.flush, Math.max(0, this.lastAt - performance.now()));
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.waiting.length > 0 && this.waiting[0]!.at <= now) {
      const { chunk } = this.waiting.shift()!;
      if (!this.to.destroyed) this.to.write(chunk);
    }
    if (this.waiting.length > 0) this.timer = setTimeout(this.flush, Math.max(1, this.waiting[0]!.at - now));
    else this.finish();
  };

  /** Ends or destroys `to` once what waits was written, as its peer's end or close would. */
  after(action: "end" | "destroy"): void {
    if (this.then !== "destroy") this.then = action;
    if (this.idle) this.finish();
  }

  private finish(): void {
    if (this.then === "end") this.to.end();
    else if (this.then === "destroy") this.to.destroy();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.waiting.length = 0;
  }
}

/** The connection token (`id`) of an upgrade's request target, as `TcpProxy.upgrades` records it. */
export function upgradeId(target: string): string | null {
  return new URL(target, "http://upgrade").searchParams.get("id");
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  const sockets = new Set<Socket>();
  let refusing = false;
  let refused = 0;
  let maxDelayMs = 0;
  const upgrades: string[] = [];
  const server: Server = createServer((client) => {
    if (refusing) {
      refused++;
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: connect(targetPort, "127.0.0.1"), holed: undefined, webSocket: false };
    client.once("data", (chunk: Buffer) => {
      const head = chunk.toString("latin1");
      pair.webSocket = /^upgrade: *websocket/im.test(head);
      if (pair.webSocket) upgrades.push(head.split(" ", 2)[1] ?? "");
    });
    pairs.add(pair);
    for (const [from, to] of [[client, pair.upstream], [pair.upstream, client]] as const) {
      sockets.add(from);
      const delayed = new DelayedWrites(to);
      to.once("close", () => delayed.clear());
      // Forwarded by hand (not piped) so a black hole can swallow what arrives.
      from.on("data", (chunk: Buffer) => {
        if (pair.holed && !(pair.holedFromServerOnly && from === client)) {
          if (from === client) pair.holed.fromClients += chunk.byteLength;
          else pair.holed.fromServer += chunk.byteLength;
          return;
        }
        if (maxDelayMs > 0 || !delayed.idle) return delayed.push(chunk, Math.random() < 1 / 3 ? Math.random() * maxDelayMs : 0);
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => from.resume());
        }
      });
      from.on("end", () => {
        if (!pair.holed) delayed.after("end");
      });
      from.on("error", () => {
        if (!pair.holed) to.destroy();
      });
      from.on("close", () => {
        sockets.delete(from);
        if (!pair.holed) delayed.after("destroy");
        if (from === client) pairs.delete(pair);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const blackHole = (options: { only?: "fromServer" } = {}): BlackHole => {
    const holed = [...pairs];
    const swallowed = { fromClients: 0, fromServer: 0 };
    for (const pair of holed) {
      pair.holed = swallowed;
      pair.holedFromServerOnly = options.only === "fromServer";
      // Whatever the sides send is read and dropped, so neither sees backpressure either.
      pair.client.resume();
      pair.upstream.resume();
    }
    const closes = holed.map(({ upstream, webSocket }) => (!webSocket || upstream.destroyed ? undefined : new Promise<void>((resolve) => upstream.once("close", () => resolve()))));
    return {
      swallowed,
      webSocketsClosedByServer: Promise.all(closes).then(() => undefined),
      resetClients: () => {
        for (const { client } of holed) client.resetAndDestroy();
      },
    };
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    blackHole,
    upgrades,
    halfOpen: () => {
      const hole = blackHole();
      hole.resetClients();
      return hole;
    },
    slow: (ms) => {
      maxDelayMs = ms;
    },
    refuse: (value) => {
      refusing = value;
    },
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
