import { EventEmitter } from "node:events";
import { HubwireError } from "../errors.js";
import type { LogWriter } from "../logger.js";
import type { ConnectionMoves } from "./connection-moves.js";
import type { ConnectionRegistry } from "./connection-registry.js";
import type { ClientSide, ForwardAnswer, ForwardOutcome } from "./connection-router-types.js";
import { textReply, type RoutedAnswer, type RoutedMessage } from "./routed-messages.js";
import { transportLog } from "./transport-log.js";
import type { TransportConnection } from "./transport-connection.js";

/** What MovingConnections needs of the router it serves. */
export interface MoveRoutes {
  readonly serverId: string;
  readonly path: string;
  readonly registry: ConnectionRegistry;
  /** How long a move may wait for the other server's next step. */
  readonly timeoutMs: number;
  readonly log: LogWriter;
  /** Subscribes the connection's route channel: requests for it reach this server from now on. */
  hold(connection: TransportConnection): Promise<void>;
  answer(server: string, answer: RoutedAnswer): void;
  /** Publishes the message `build` makes on `server`'s own channel and waits for its answer. */
  askServer(server: string, build: (id: number) => RoutedMessage, client: ClientSide): Promise<ForwardOutcome>;
}

/**
 * Both sides of moving a suspended stateful connection to the server its client came back
 * through (see ConnectionMoves for what the hub does at each step). The holder answers the
 * forwarded upgrade `moving` and keeps the connection from resuming elsewhere; the new server
 * prepares and says `ready`; the holder lets go and answers `moved` with the state; the new
 * server completes the move and the client's socket takes over.
 */
export class MovingConnections {
  /** Connections moving here, by token, until their move completes or fails. */
  private readonly arriving = new Map<string, ArrivalWait>();
  /** Connections this server answered `moving` for, by asking server and request id, until its `ready`. */
  private readonly leaving = new Map<string, { connection: TransportConnection; plan: unknown; timer: ReturnType<typeof setTimeout> }>();
  /** Connections this server is letting go of, by the server they go to and its `ready`'s id, until the cut ends. */
  private readonly cutting = new Map<string, { connection: TransportConnection; givenUp: boolean }>();

  constructor(
    private readonly moves: ConnectionMoves,
    private readonly router: MoveRoutes,
  ) {}

  /**
   * A suspended stateful connection's client came back through this server: the connection
   * moves here with its state (see ConnectionMoves). This server takes it under its token and
   * listens for it, says `ready`, and gets the state in the holder's `moved`. Returned suspended,
   * for the client's socket to take over; on failure the client is answered and nothing stays.
   */
  async arrive(
    token: string,
    moving: Extract<ForwardOutcome, { kind: "moving" }>,
    answer: ForwardAnswer,
  ): Promise<TransportConnection | undefined | typeof holderDied> {
    const { registry } = this.router;
    const { moves } = this;
    // Another attempt of the same client got here first; the holder forgets this one after its timeout.
    if (registry.get(token)) return void answer.refuse(409, "The connection is already moving to this server.");
    const connection = registry.take(moving.connectionId, token);
    connection.movedIn(moving.identity);
    let prepared = false;
    // Not given up when the client leaves meanwhile: the holder may have let go already, and
    // the connection then waits here, suspended, for the client's next attempt. Only the
    // holder's death ends the wait: seen by presence, or by a crash recovery of the connection
    // here (see revive).
    const wait = new ArrivalWait();
    this.arriving.set(token, wait);
    const watch = setInterval(() => {
      if (moves.holderDied?.(moving.holder, moving.plan)) void wait.end("holder died");
    }, holderCheckMs);
    watch.unref();
    try {
      await this.router.hold(connection);
      await moves.prepare(connection, moving.plan);
      prepared = true;
      if (wait.endedBy !== undefined) throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The connection's server died before it moved.");
      const ready = (id: number): RoutedMessage => ({ kind: "ready", from: this.router.serverId, id, moving: moving.id });
      const outcome = await this.router.askServer(moving.holder, ready, wait);
      if (outcome.kind === "moved" && outcome.state !== undefined && connection.state === "suspended") {
        moves.complete(connection, moving.plan, outcome.state);
        return connection; // a client that left meanwhile finds it here on its next attempt
      }
      this.dropArrival(connection, moving.plan, prepared);
      // Its server died while it moved: the client's socket takes the connection recovered here
      // instead, or asks again for it (its standby elsewhere is taking it over).
      if (wait.endedBy === "holder died") return holderDied;
      if (wait.endedBy === "recovered here") {
        wait.settled();
        const recovered = await wait.recovered;
        if (recovered) return recovered;
        answer.refuse(503, "The connection could not move to this server.");
      } else if (outcome.kind === "reply") answer.reply(outcome.response);
      else if (outcome.kind === "failed") answer.refuse(outcome.status, outcome.reason);
      else if (outcome.kind !== "gone") answer.refuse(404, "No Connection with that ID");
    } catch (error) {
      this.router.log.write(transportLog.moveFailed, { path: this.router.path, connectionId: connection.connectionId, error });
      this.dropArrival(connection, moving.plan, prepared);
      answer.refuse(503, "The connection could not move to this server.");
    } finally {
      clearInterval(watch);
      this.arriving.delete(token);
      wait.settled();
    }
    return undefined;
  }

  /** See ConnectionRevival.revive. */
  async revive(connectionId: string, token: string, identity: string | undefined, rebuild: (connection: TransportConnection) => void): Promise<void> {
    const { registry } = this.router;
    // Its server died while it moved here: the move will not complete, and the recovery takes
    // its place (the socket that waited for the move takes the recovered connection).
    const arrival = this.arriving.get(token);
    await arrival?.end("recovered here");
    let held: TransportConnection | undefined;
    try {
      if (registry.get(token)) throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", `Connection '${connectionId}' is here already.`);
      const connection = registry.take(connectionId, token);
      connection.movedIn(identity);
      try {
        rebuild(connection);
      } catch (error) {
        connection.movedAway();
        registry.forget(connection);
        throw error;
      }
      // Its client may reach this server first: it finds the connection in the registry meanwhile.
      await this.router.hold(connection);
      held = connection;
    } finally {
      arrival?.recover(held);
    }
  }

  /** A connection that was to move here and did not: nothing of it stays. */
  private dropArrival(connection: TransportConnection, plan: unknown, prepared: boolean): void {
    if (prepared) this.moves.abandon(connection, plan);
    connection.movedAway();
    this.router.registry.forget(connection); // releases its route channel too
  }

  /**
   * Holder: the client of a suspended stateful connection came back through server `from`. Says
   * `moving` with what that server must prepare, and keeps the connection from resuming here
   * until its `ready` (or the forward timeout). False when the connection cannot move.
   */
  offer(connection: TransportConnection, from: string, id: number): boolean {
    if (connection.state !== "suspended" || !connection.resumable) return false;
    const plan = this.moves.plan(connection);
    if (plan === undefined) return false;
    const key = `${from}:${id}`;
    connection.resumable = false; // a second attempt, here or elsewhere, is refused meanwhile
    const timer = setTimeout(() => {
      if (this.leaving.delete(key) && connection.state === "suspended") connection.resumable = true;
    }, this.router.timeoutMs);
    timer.unref();
    this.leaving.set(key, { connection, plan, timer });
    const { connectionId, identity } = connection;
    this.router.answer(from, { kind: "moving", id, holder: this.router.serverId, connectionId, identity, plan });
    return true;
  }

  /** Holder: server `from` is ready for the connection it was answered `moving` for: it goes there now. */
  async leave(from: string, movingId: number, answerId: number): Promise<void> {
    const key = `${from}:${movingId}`;
    const leaving = this.leaving.get(key);
    if (!leaving) return this.router.answer(from, { kind: "unknown", id: answerId });
    this.leaving.delete(key);
    clearTimeout(leaving.timer);
    const { connection, plan } = leaving;
    const { connectionId, identity, statefulReconnect } = connection;
    const cutKey = `${from}:${answerId}`;
    const cutting = { connection, givenUp: false };
    this.cutting.set(cutKey, cutting);
    let state: unknown;
    try {
      if (connection.state !== "suspended") throw new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The connection ended before it could move.");
      state = await this.moves.cut(connection, plan, () => !cutting.givenUp);
    } catch (error) {
      this.router.log.write(transportLog.moveFailed, { path: this.router.path, connectionId, error });
      // Given up by the new server, it is resumable again already, and may be moving elsewhere now (see givenUp).
      if (!cutting.givenUp && connection.state === "suspended") connection.resumable = true;
      return this.router.answer(from, textReply(answerId, 503, "The connection could not move to this server."));
    } finally {
      this.cutting.delete(cutKey);
    }
    connection.movedAway();
    this.router.registry.forget(connection); // releases its route channel too
    this.router.answer(from, { kind: "moved", id: answerId, connectionId, identity, statefulReconnect, state });
    this.moves.handedOver?.(connectionId, plan);
  }

  /**
   * Holder: server `from` stopped waiting for the connection it said `ready` for (`answerId`):
   * its presence judged this server dead (a stall longer than serverTimeout, while the calls
   * settled or the fence came back). Let go after that, the state would go to a server that no
   * longer takes it, and the connection would be lost everywhere. Not let go yet, it stays here:
   * the cut lets go of nothing (see ConnectionMoves.cut), and the connection is resumable again
   * at once, suspended, for its client's next attempt, which may be on its way already (the new
   * server asks again for the connection as soon as it gives up). Once let go, nothing is left
   * here to keep: an abandon read after that is ignored (see docs/scale-out.md).
   */
  givenUp(from: string, answerId: number): void {
    const cutting = this.cutting.get(`${from}:${answerId}`);
    if (!cutting || cutting.givenUp) return;
    cutting.givenUp = true;
    if (cutting.connection.state === "suspended") cutting.connection.resumable = true;
  }
}

/** What a cut throws when the new server stopped waiting for the connection before it was let go (see MovingConnections.givenUp). */
export function moveGivenUp(): HubwireError {
  return new HubwireError("ERR_CONNECTION_MOVE_FAILED", "The new server gave the move up (it judged this server dead): the connection stays here.");
}

/** How often a move's wait looks whether presence has declared its holder dead. */
const holderCheckMs = 200;

/** What `arrive` returns when the holder died while the connection moved: its reconnect asks again for it. */
export const holderDied: unique symbol = Symbol("hubwire:holder-died");

/**
 * The client side of a move's wait for its holder: it goes on whether or not the client stays,
 * and ends only when a crash recovery of the connection here takes the move's place.
 */
class ArrivalWait extends EventEmitter implements ClientSide {
  /** What ended it (the first of them). */
  endedBy: "recovered here" | "holder died" | undefined;
  private onSettled: (() => void) | undefined;
  private readonly whenSettled = new Promise<void>((resolve) => (this.onSettled = resolve));
  /** Once ended: the connection the recovery rebuilt here, or undefined if it could not. */
  recover: (connection: TransportConnection | undefined) => void = () => {};
  readonly recovered = new Promise<TransportConnection | undefined>((resolve) => (this.recover = resolve));

  /** A wait that ended before the router listened for its end ends at once. */
  override once(event: string | symbol, listener: () => void): this {
    if (event === "close" && this.endedBy !== undefined) {
      listener();
      return this;
    }
    return super.once(event, listener);
  }

  /** Ends the wait; resolves once the move has let go of the connection. */
  end(by: "recovered here" | "holder died"): Promise<void> {
    if (this.endedBy === undefined) {
      this.endedBy = by;
      this.emit("close");
    }
    return this.whenSettled;
  }

  settled(): void {
    this.onSettled?.();
  }
}
