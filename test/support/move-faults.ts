import type { RoundRobinProxy } from "../../bench/round-robin-proxy.js";
import type { HubServer } from "../../src/index.js";
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
