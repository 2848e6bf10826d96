import { HubwireError } from "../errors.js";
import type { BackplaneMessage, ConnectionsOfMessage } from "./backplane-messages.js";
import { publishRequest } from "./connection-requests.js";
import { PendingReplies } from "./pending-replies.js";
import type { Target } from "./target.js";

/** What ConnectionLookups needs of its lifetime manager. */
export interface ConnectionLookupsHost {
  serverId: string;
  /** The channel of a server (where its answers go), or the hub's `all`. */
  channel(kind: "server" | "all", name?: string): string;
  /** The live peers, as presence judges them, once each has had time to announce itself. */
  peers(): Promise<Iterable<string>>;
  /** The ids of the connections of `target` this server holds or is taking over. */
  connectionsHere(target: Target): string[];
  /** Hands a message to the outbox: it never waits on the backplane. */
  publish(channel: string, message: BackplaneMessage): void;
  /** Whether the backplane takes messages now (the outbox holds none back). */
  reachable(): boolean;
  /** Publishes at once; resolves with how many servers listen on `channel`. */
  publishNow(channel: string, message: BackplaneMessage): Promise<number>;
  /** How long a lookup waits for every live peer's answer. */
  timeout: number;
}

/** A lookup under way: the peers yet to answer, and the ids found so far. */
interface Lookup {
  unanswered: Set<string>;
  found: Set<string>;
}

/**
 * Which connections a user or a group has on every server (HubLifetimeManager.connectionsOf):
 * this server's own, and each live peer's answer to one question on the hub's `all` channel;
 * and, as a peer, the answers to the others' questions. A peer that dies meanwhile counts as
 * answered (it has no connections left, or its standby names them); one that does not answer in
 * time fails the lookup (ERR_BACKPLANE_TIMEOUT), and a backplane that is away fails it at once
 * (ERR_BACKPLANE_UNAVAILABLE).
 */
export class ConnectionLookups {
  private readonly pending = new PendingReplies();
  private readonly lookups = new Map<number, Lookup>();
  private nextRequestId = 0;

  constructor(private readonly host: ConnectionLookupsHost) {}

  async connectionsOf(target: Target): Promise<string[]> {
    const requestId = this.nextRequestId++;
    const answers = this.pending.wait(requestId, this.host.timeout, undefined, () =>
      new HubwireError("ERR_BACKPLANE_TIMEOUT", `Not every server said in time which connections ${describe(target)} has.`),
    );
    const lookup: Lookup = { unanswered: new Set(), found: new Set() };
    this.lookups.set(requestId, lookup);
    this.ask(requestId, target, lookup).catch((error: unknown) => this.pending.settle(requestId, error));
    try {
      await answers;
    } finally {
      this.lookups.delete(requestId);
    }
    return [...lookup.found];
  }

  /** As a peer: the connections of the target asked for that are here, for the server that asks. */
  answer(message: ConnectionsOfMessage): void {
    const { host } = this;
    const connectionIds = host.connectionsHere(message.target);
    host.publish(host.channel("server", message.origin), { kind: "connectionIds", requestId: message.requestId, origin: host.serverId, connectionIds });
  }

  /** An answer on this server's own channel; false for a message that is not one. */
  onAnswer(message: BackplaneMessage): boolean {
    if (message.kind !== "connectionIds") return false;
    const lookup = this.lookups.get(message.requestId);
    for (const id of message.connectionIds) lookup?.found.add(id);
    this.answered(message.requestId, message.origin);
    return true;
  }

  /** A server died or left: it has no connections to name. */
  serverGone(serverId: string): void {
    for (const requestId of [...this.lookups.keys()]) this.answered(requestId, serverId);
  }

  /** This server closes: no answer can reach it any more. */
  close(): void {
    this.pending.failAll(() => new HubwireError("ERR_SERVER_CLOSED", "The server closed while a lookup waited for another server's answer."));
  }

  private async ask(requestId: number, target: Target, lookup: Lookup): Promise<void> {
    const { host } = this;
    const peers = await host.peers();
    for (const id of host.connectionsHere(target)) lookup.found.add(id);
    for (const serverId of peers) lookup.unanswered.add(serverId);
    if (lookup.unanswered.size === 0) return this.pending.settle(requestId, undefined, true);
    await publishRequest(host, requestId, host.channel("all"), { kind: "connectionsOf", origin: host.serverId, requestId, target });
  }

  private answered(requestId: number, serverId: string): void {
    const lookup = this.lookups.get(requestId);
    if (lookup?.unanswered.delete(serverId) && lookup.unanswered.size === 0) this.pending.settle(requestId, undefined, true);
  }
}

/** What a lookup's error names: `user 'ada'`, `group 'room'`. */
function describe(target: Target): string {
  switch (target.kind) {
    case "users":
      return target.ids.map((id) => `user '${id}'`).join(", ");
    case "groups":
      return target.names.map((name) => `group '${name}'`).join(", ");
    case "connections":
      return "the connections asked for";
    case "all":
      return "the hub";
  }
}
