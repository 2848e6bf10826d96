import type { RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import type { HubServer } from "../../src/index.js";
import type { RedisBackplane } from "../../src/redis/index.js";
import type { JointMoves } from "../../src/transports/connection-moves.js";

/** The moves (ConnectionMoves) of `server`'s endpoint at `path`, whose steps a test may wrap. */
function movesOf(server: HubServer, path: string) {
  return server["endpoints"].get(path)!.endpoint["router"]!["moving"]!["moves"];
}

/**
 * Makes `server` die, as far as a move from it goes, the moment it has let go of a connection
 * moving away from its endpoint at `path`: the hubs let go (the cut runs), and the state is
 * never sent. Resolves once a cut has run; the test then crashes the server.
 */
export function hangAfterLettingGo(server: HubServer, path: string): Promise<void> {
  const moves = movesOf(server, path);
  const cut = moves.cut.bind(moves);
  return new Promise<void>((letGo) => {
    moves.cut = async (connection, plan) => {
      await cut(connection, plan);
      letGo();
      return new Promise(() => {});
    };
  });
}

/**
 * Runs `meanwhile` on `server`, once, as it lets go of a connection moving away from its endpoint
 * at `path`: `before` the cut (the new server said it is ready), or `while` the cut waits for the
 * backplane's fence (a hub's: in its own cut, or in its multiplexed connection's).
 */
export function whenLettingGo(server: HubServer, path: string, at: "before" | "while", meanwhile: () => void): void {
  const moves = movesOf(server, path);
  if (at === "while" && "fence" in moves) {
    const joint = moves as JointMoves;
    const fence = joint.fence.bind(joint);
    joint.fence = (connection, plan) => {
      joint.fence = fence;
      const fencing = fence(connection, plan);
      meanwhile();
      return fencing;
    };
    return;
  }
  const cut = moves.cut.bind(moves);
  moves.cut = (connection, plan) => {
    moves.cut = cut;
    if (at === "before") meanwhile();
    const cutting = cut(connection, plan);
    if (at === "while") meanwhile();
    return cutting;
  };
}

/**
 * Sends requests through the round-robin proxy until the next one goes to `backend`, of
 * `count`; returns a count of the upgrades that reached `backend` since.
 */
export async function steerTo(proxy: RoundRobinProxy, backend: number, count: number): Promise<() => number> {
  const turn = () => proxy.seen.reduce((requests, seen) => requests + seen.length, 0) % count;
  while (turn() !== backend) await fetch(`${proxy.url}/turn`);
  const upgrades = () => proxy.seen[backend]!.filter((kind) => kind === "upgrade").length;
  const before = upgrades();
  return () => upgrades() - before;
}

/**
 * Makes `server` stall, as a blocked event loop does, from the moment a connection moving away
 * from its endpoint at `path` starts to get ready to let go (the new server said it is ready),
 * as a call of the connection that the move lets finish could block it: its heartbeats stop and
 * what its backplane receives waits unread. `stalled` resolves when the stall begins. `resume`
 * ends it as a stalled event loop goes on: the move first, which fences the connection's
 * channels, then, in one go and in the order it came, everything that waited in the socket. The
 * other servers in the process run on meanwhile, unlike in a real stall.
 */
export function stallWhileLettingGo(server: HubServer, backplane: RedisBackplane, path: string): { stalled: Promise<void>; resume: () => void } {
  const joint = movesOf(server, path) as JointMoves;
  const presences = server["scaleOut"]!["managers"].map((manager) => manager["presence"]);
  const subscriber = backplane["subscriber"];
  const event = backplane["links"].messageEvent;
  const [read] = subscriber.listeners(event) as Array<(channel: Buffer, message: Buffer) => void>;
  const unread: Array<[Buffer, Buffer]> = [];
  let stalling = false;
  subscriber.off(event, read!);
  subscriber.on(event, (channel: Buffer, message: Buffer) => (stalling ? unread.push([channel, message]) : read!(channel, message)));
  let goOn: () => void = () => {};
  const resumed = new Promise<void>((resolve) => (goOn = resolve));
  const fence = joint.fence.bind(joint);
  const stalled = new Promise<void>((begun) => {
    joint.fence = async (connection, plan) => {
      joint.fence = fence;
      stalling = true;
      for (const presence of presences) presence["tick"] = () => {};
      begun();
      await resumed;
      return fence(connection, plan);
    };
  });
  const resume = () => {
    goOn();
    setImmediate(() => {
      stalling = false;
      for (const presence of presences) delete (presence as unknown as Record<string, unknown>)["tick"];
      for (const [channel, message] of unread.splice(0)) read!(channel, message);
    });
  };
  return { stalled, resume };
}
