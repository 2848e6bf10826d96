import { HubwireError } from "../errors.js";
import { asError } from "../protocol/thrown-value.js";
import type { ConnectionMoves, ConnectionRevival, JointMoves } from "./connection-moves.js";
import { newConnectionId } from "./connection-ids.js";
import { HubChannel } from "./hub-channel.js";
import { MultiplexedConnection } from "./multiplexed-connection.js";
import type { ChannelEndpoint, MultiplexSettings } from "./multiplex-settings.js";
import type { MultiplexHandler } from "./multiplex-handler.js";
import { MultiplexRevival } from "./multiplex-revival.js";
import { moveGivenUp } from "./moving-connections.js";
import { transportLog } from "./transport-log.js";
import { TransportConnection } from "./transport-connection.js";

/** One hub of a multiplexed connection that moves, as the new server is told first. */
interface HubPlan {
  channel: number;
  path: string;
  /** The hub's protocol is a text one (its client said so when it opened the hub). */
  text: boolean;
  connectionId: string;
  identity?: string;
  /** The hub's own plan (its ConnectionMoves'). */
  plan: unknown;
}

/** A hub of a moving connection on the old server, fenced and ready to let go. */
interface ReadyHub {
  channel: HubChannel;
  moves: JointMoves;
  plan: unknown;
}

/** What the old server hands over: the connection's format and channels, and each hub's own state. */
interface MultiplexState {
  binary: boolean;
  highestChannel: number;
  hubs: Array<{ channel: number; state: unknown }>;
  /** Hubs open there that did not move (not stateful, or past their buffer): they start anew. */
  dropped: number[];
}

/** A hub being prepared for on the new server, until the move completes or fails. */
interface Arrival {
  hub: HubPlan;
  endpoint: ChannelEndpoint & { moves: ConnectionMoves };
  connection: TransportConnection;
}

/**
 * Moving a suspended multiplexed connection to the server its client came back through (see
 * MovingConnections): one move of the physical connection that carries each stateful hub's own
 * move, by the hub's ConnectionMoves, keyed by its channel. So each hub keeps its id, user,
 * groups and replay exactly as a plain stateful connection does, and the connection its
 * channels. A hub that cannot move ends on the old server and its client opens it anew; a hub
 * that fails to let go there fails the whole move, and the client starts anew: no hub lets go
 * unless every one can.
 */
export class MultiplexMoves implements ConnectionMoves {
  /** New server: the hubs prepared for, by the physical connection moving here. */
  private readonly arriving = new Map<TransportConnection, Arrival[]>();
  /** Crash recovery: a dead server's connections rebuilt here from their hubs' checkpoints. */
  readonly revival: MultiplexRevival;

  constructor(
    private readonly handler: MultiplexHandler,
    private readonly settings: MultiplexSettings,
  ) {
    this.revival = new MultiplexRevival(handler, settings);
  }

  attach(revival: ConnectionRevival): void {
    this.revival.revival = revival;
  }

  plan(physical: TransportConnection): { hubs: HubPlan[] } | undefined {
    const multiplexed = physical.receiver;
    if (!(multiplexed instanceof MultiplexedConnection)) return undefined;
    const hubs: HubPlan[] = [];
    for (const hub of multiplexed.hubs()) {
      const { connection } = hub;
      const plan = connection.isClosed ? undefined : this.settings.resolve(hub.path)?.moves?.plan(connection);
      if (plan === undefined) continue;
      const { connectionId, identity } = connection;
      hubs.push({ channel: hub.channel, path: hub.path, text: hub.text, connectionId, ...(identity !== undefined ? { identity } : {}), plan });
    }
    // Nothing would keep its state: its client starts anew as without a move.
    return hubs.length > 0 ? { hubs } : undefined;
  }

  async prepare(physical: TransportConnection, plan: unknown): Promise<void> {
    const arrivals: Arrival[] = [];
    for (const hub of multiplexPlan(plan)) {
      const endpoint = this.settings.resolve(hub.path);
      if (!endpoint?.moves) {
        // That hub alone starts anew (see complete); the others move.
        const error = moveFailed(`No hub that can take a moving connection is mapped at '${hub.path}' here.`);
        this.settings.log.write(transportLog.moveFailed, { path: hub.path, connectionId: hub.connectionId, error });
        continue;
      }
      const connection = new TransportConnection(hub.connectionId, newConnectionId(), endpoint.maxBufferedBytes);
      connection.movedIn(hub.identity);
      arrivals.push({ hub, endpoint: endpoint as Arrival["endpoint"], connection });
    }
    const prepared = await Promise.allSettled(arrivals.map(({ endpoint, connection, hub }) => endpoint.moves.prepare(connection, hub.plan)));
    const failure = prepared.find((outcome) => outcome.status === "rejected");
    if (failure) {
      // MovingConnections abandons only a move whose prepare succeeded: the hubs that did are let go here.
      for (const [i, outcome] of prepared.entries()) if (outcome.status === "fulfilled") arrivals[i]!.endpoint.moves.abandon(arrivals[i]!.connection, arrivals[i]!.hub.plan);
      throw failure.reason;
    }
    this.arriving.set(physical, arrivals);
  }

  async cut(physical: TransportConnection, plan: unknown, awaited?: () => boolean): Promise<MultiplexState> {
    const multiplexed = physical.receiver;
    if (!(multiplexed instanceof MultiplexedConnection)) throw moveFailed("The connection ended before it could move.");
    const open = new Map([...multiplexed.hubs()].map((hub) => [hub.channel, hub]));
    // Every hub gets ready at once: each waits for its own calls and fences, not for the others'.
    const fenced = await Promise.allSettled(multiplexPlan(plan).map((hub) => this.readyToLetGo(open, hub)));
    // The new server stopped waiting for it: no hub lets go, and the connection stays here, for its client's next attempt.
    if (awaited && !awaited()) throw moveGivenUp();
    const failure = fenced.find((outcome) => outcome.status === "rejected");
    let error = failure ? asError(failure.reason) : undefined;
    const ready = fenced.flatMap((outcome) => (outcome as PromiseFulfilledResult<ReadyHub | undefined>).value ?? []);
    // Then, with no wait, every hub lets go or none does: one let go runs its onDisconnected only
    // where it arrives, so one let go in a move that fails would run it nowhere.
    const moving: ReadyHub[] = [];
    for (const hub of ready) {
      if (error) break;
      const refusal = hub.moves.cannotLetGo(hub.channel.connection, hub.plan);
      // One that ended here meanwhile (see readyToLetGo) starts anew on its client's side.
      if (!refusal) moving.push(hub);
      else if (hub.moves.plan(hub.channel.connection) !== undefined) error = refusal;
    }
    error ??= physical.state !== "suspended" ? moveFailed("The connection ended while it moved.") : undefined;
    // None let go: the connection stays here, suspended, for its client's next attempt (a fence
    // late on a busy server, a group joined meanwhile, are not there next time), as a plain
    // connection does (see MovingConnections.leave).
    if (error) throw error;
    const hubs = moving.map(({ channel, moves, plan: hubPlan }) => {
      const state = moves.letGo(channel.connection, hubPlan);
      channel.connection.movedAway(); // its session is the new server's now: nothing of it ends here
      return { channel: channel.channel, state };
    });
    const moved = new Set(hubs.map(({ channel }) => channel));
    const dropped = [...open.keys()].filter((channel) => !moved.has(channel));
    const { binary, highestChannel } = multiplexed.layout;
    const state: MultiplexState = { binary, highestChannel, hubs, dropped };
    multiplexed.movedAway(new HubwireError("ERR_TRANSPORT_LOST", "The connection moved to another server without this hub, which has no state to move."));
    return state;
  }

  /** Gets one hub of a moving connection ready to let go; undefined when it can no longer move and ended here. */
  private async readyToLetGo(open: Map<number, HubChannel>, { channel, connectionId, path, plan }: HubPlan): Promise<ReadyHub | undefined> {
    const hub = open.get(channel);
    const moves = this.settings.resolve(path)?.moves;
    if (!hub || hub.connection.connectionId !== connectionId || !moves) throw moveFailed(`The hub on channel ${channel} ended before it could move.`);
    try {
      await moves.fence(hub.connection, plan);
    } catch (error) {
      // It can no longer move: sent more than its stateful buffer holds since the plan or while
      // it waited for its fence, it ended here. Its client opens it anew, as a hub left out of
      // the plan does.
      if (moves.plan(hub.connection) === undefined) return undefined;
      throw error;
    }
    return { channel: hub, moves, plan };
  }

  complete(physical: TransportConnection, _plan: unknown, state: unknown): void {
    const moved = multiplexState(state);
    const arrivals = this.arriving.get(physical) ?? [];
    this.arriving.delete(physical);
    const states = new Map(moved.hubs.map(({ channel, state: hubState }) => [channel, hubState]));
    const dropped = [...moved.dropped];
    // Hubs it handed over that this server did not prepare for (see prepare) start anew.
    for (const { channel } of moved.hubs) if (!arrivals.some(({ hub }) => hub.channel === channel)) dropped.push(channel);
    const multiplexed = this.handler.movedIn(physical, { binary: moved.binary, highestChannel: moved.highestChannel, dropped });
    for (const { hub, endpoint, connection } of arrivals) {
      if (moved.dropped.includes(hub.channel)) {
        endpoint.moves.abandon(connection, hub.plan); // it ended on the old server (see cut)
        continue;
      }
      try {
        if (!states.has(hub.channel)) throw moveFailed(`The hub on channel ${hub.channel} did not move.`);
        const channel = new HubChannel(multiplexed, hub.channel, connection, hub.text, endpoint.admit, hub.path);
        connection.transport = channel;
        endpoint.moves.complete(connection, hub.plan, states.get(hub.channel));
        multiplexed.addMoved(channel);
      } catch (error) {
        // This hub alone starts anew: its client hears `close` for it once its socket is back.
        this.settings.log.write(transportLog.moveFailed, { path: hub.path, connectionId: hub.connectionId, error });
        endpoint.moves.abandon(connection, hub.plan);
        dropped.push(hub.channel);
      }
    }
  }

  /** Each hub that moved: see ConnectionMoves.handedOver. */
  handedOver(_connectionId: string, plan: unknown): void {
    for (const hub of multiplexPlan(plan)) this.settings.resolve(hub.path)?.moves?.handedOver?.(hub.connectionId, hub.plan);
  }

  /** Any hub of the connection kept here as its standby: they all have the same one. */
  awaitsHolder(token: string): boolean {
    return this.settings.awaitsHolder?.(token) ?? false;
  }

  /** As its first hub's presence judges it: every hub of a server runs its own. */
  holderDied(holder: string, plan: unknown): boolean {
    const [hub] = multiplexPlan(plan);
    return hub !== undefined && (this.settings.resolve(hub.path)?.moves?.holderDied?.(holder, hub.plan) ?? false);
  }

  abandon(physical: TransportConnection): void {
    const arrivals = this.arriving.get(physical);
    this.arriving.delete(physical);
    if (arrivals) for (const { endpoint, connection, hub } of arrivals) endpoint.moves.abandon(connection, hub.plan);
  }
}

function moveFailed(message: string): HubwireError {
  return new HubwireError("ERR_CONNECTION_MOVE_FAILED", message);
}

/** The plan crosses the backplane, as trusted as the servers: its shape is checked all the same, so a stray one fails the move alone. */
function multiplexPlan(value: unknown): HubPlan[] {
  const hubs = (value as { hubs?: unknown } | null)?.hubs;
  if (!Array.isArray(hubs) || !hubs.every(isHubPlan)) throw malformed();
  return hubs;
}

function isHubPlan(value: unknown): value is HubPlan {
  const hub = value as Partial<HubPlan> | null;
  return (
    Number.isInteger(hub?.channel) &&
    typeof hub?.path === "string" &&
    typeof hub.text === "boolean" &&
    typeof hub.connectionId === "string" &&
    (hub.identity === undefined || typeof hub.identity === "string")
  );
}

function multiplexState(value: unknown): MultiplexState {
  const state = value as Partial<MultiplexState> | null;
  const valid =
    typeof state?.binary === "boolean" &&
    Number.isInteger(state.highestChannel) &&
    Array.isArray(state.dropped) &&
    state.dropped.every((channel) => Number.isInteger(channel)) &&
    Array.isArray(state.hubs) &&
    state.hubs.every((hub) => Number.isInteger((hub as { channel?: unknown } | null)?.channel));
  if (!valid) throw malformed();
  return state as MultiplexState;
}

function malformed(): HubwireError {
  return moveFailed("The multiplexed connection's old server sent a plan or handoff hubwire cannot read.");
}
