import type { ClientInvokeOptions } from "../connection/client-results.js";
import { HubwireError } from "../errors.js";
import type { BackplaneMessage, GroupMessage, InvokeMessage } from "./backplane-messages.js";
import type { InMemoryLifetimeManager } from "./in-memory-lifetime-manager.js";
import { PendingReplies } from "./pending-replies.js";
import { failureReply, remoteError, serverGone } from "./remote-errors.js";
import type { ScaleOutMoves } from "./scale-out-moves.js";
import type { SendSequences } from "./send-sequences.js";

/** How long past its own timeout a remote client result may take to report back. */
const replyGraceMs = 1_000;

/** What ConnectionRequests needs of its lifetime manager. */
export interface ConnectionRequestsHost {
  serverId: string;
  local: InMemoryLifetimeManager;
  /** Connections moving here: their old servers answer for them until they arrive. */
  moves: ScaleOutMoves;
  /** What this server delivered from each origin, by channel. */
  delivered: SendSequences;
  /** Applies a group change to a connection held here (subscribing the group's channel for its first member). */
  changeGroupHere(action: GroupMessage["action"], connectionId: string, group: string): Promise<void>;
  /** The channel of a connection, or of a server (where its answers go). */
  channel(kind: "connection" | "server", name: string): string;
  /** Hands a message to the outbox: it never waits on the backplane. */
  publish(channel: string, message: BackplaneMessage): void;
  /** Numbers a message as this server's next send (SendMessage.seq). */
  nextSeq(): number;
  /** Whether the backplane takes messages now (the outbox holds none back). */
  reachable(): boolean;
  /** Publishes at once; resolves with how many servers listen on `channel`. */
  publishNow(channel: string, message: BackplaneMessage): Promise<number>;
  /** The hub's client result timeout, for results asked of a connection on another server. */
  clientResultTimeout: number;
  /** How long a group change for a connection on another server waits for its ack. */
  ackTimeout: number;
  /** How long a live holder may take to say it took a client result request. */
  serverTimeout: number;
}

/**
 * What a server asks of the server that holds a connection, over the connection's channel: a
 * group change (acknowledged) and a client result (the holder says it took it, then answers);
 * and, as the holder, its answers to the group changes and client results others ask of its
 * connections. Answers come on the asking server's own channel. Each request ends once:
 * answered, timed out, or failed because the server that took it is gone.
 */
export class ConnectionRequests {
  private readonly pending = new PendingReplies();
  private nextRequestId = 0;

  constructor(private readonly host: ConnectionRequestsHost) {}

  /** A client result from a connection another server holds. */
  invoke(connectionId: string, method: string, args: readonly unknown[], options: ClientInvokeOptions): Promise<unknown> {
    const { host } = this;
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const requestId = this.nextRequestId++;
    const timeout = options.timeout ?? host.clientResultTimeout;
    const reply = this.pending.wait(requestId, timeout + replyGraceMs, signal, () =>
      new HubwireError("ERR_CLIENT_RESULT_TIMEOUT", `Timed out waiting for a client result from connection '${connectionId}'.`),
    );
    const request: InvokeMessage = { kind: "invoke", origin: host.serverId, requestId, connectionId, method, args: [...args], timeout };
    this.request(requestId, host.channel("connection", connectionId), request).then(
      (receivers) => {
        if (receivers === 0) {
          this.pending.settle(requestId, new HubwireError("ERR_CONNECTION_NOT_FOUND", `Connection '${connectionId}' does not exist.`));
          return;
        }
        // A live holder says at once that it took the request; Redis may still count a dead one.
        setTimeout(() => {
          if (this.pending.untaken(requestId)) this.pending.settle(requestId, serverGone());
        }, host.serverTimeout).unref();
      },
      (error: unknown) => this.pending.settle(requestId, error),
    );
    return reply;
  }

  /**
   * A group change for a connection another server holds; resolves once that server acks it.
   * The ack is returned as it is, not awaited after the publish: it may fail first (its timeout,
   * or the holder's refusal heard before Redis answers the publish), and it must neither wait
   * for that answer nor be a rejection no one handles meanwhile.
   */
  changeGroup(action: GroupMessage["action"], connectionId: string, group: string): Promise<void> {
    const ackId = this.nextRequestId++;
    const ack = this.pending.wait(ackId, this.host.ackTimeout, undefined, () =>
      new HubwireError("ERR_BACKPLANE_TIMEOUT", `No server acknowledged the group change for connection '${connectionId}'.`),
    );
    const request: GroupMessage = { kind: "group", origin: this.host.serverId, ackId, action, connectionId, group, seq: this.host.nextSeq() };
    this.request(ackId, this.host.channel("connection", connectionId), request).then(
      (receivers) => {
        // Nobody holds that connection: ignored, as in a single process.
        if (receivers === 0) this.pending.settle(ackId, undefined, true);
      },
      (error: unknown) => this.pending.settle(ackId, error),
    );
    return ack as Promise<void>;
  }

  /** An answer on this server's own channel; false for a message that is not one. */
  onAnswer(message: BackplaneMessage): boolean {
    switch (message.kind) {
      case "ack":
        this.pending.settle(message.ackId, undefined, true);
        return true;
      case "taken":
        this.pending.takenBy(message.requestId, message.holder);
        return true;
      case "result":
        this.pending.settle(message.requestId, message.result, true);
        return true;
      case "failure":
        this.pending.settle(message.requestId, remoteError(message.name, message.message, message.code));
        return true;
      default:
        return false;
    }
  }

  /**
   * This server closes: its backplane goes, and no answer can come. What still waits fails now
   * rather than at its timeout (a client result may wait minutes).
   */
  close(): void {
    this.pending.failAll(() => new HubwireError("ERR_SERVER_CLOSED", "The server closed while the request waited for another server's answer."));
  }

  /** A server died or left: what it took fails at once. */
  serverGone(serverId: string): void {
    this.pending.failTakenBy(serverId, serverGone);
  }

  /** As the holder: a client result another server asks of a connection here. */
  async answerInvoke(message: InvokeMessage): Promise<void> {
    const { host } = this;
    const { requestId, origin } = message;
    // Its old server answers; one that let go already leaves the asker to its server timeout.
    if (host.moves.incoming.get(message.connectionId)) return;
    // Only a connection held here is answered for; a connection that left has no channel here.
    if (host.local.has(message.connectionId)) host.publish(host.channel("server", origin), { kind: "taken", requestId, holder: host.serverId });
    let reply: BackplaneMessage;
    try {
      const result = await host.local.invokeConnection(message.connectionId, message.method, message.args, { timeout: message.timeout });
      reply = { kind: "result", requestId, result };
    } catch (error) {
      reply = failureReply(requestId, error);
    }
    host.publish(host.channel("server", origin), reply);
  }

  /** As the holder: a group change another server asks of a connection here; acked, or failed with this server's bound. */
  async answerGroupChange(message: GroupMessage, channel: string): Promise<void> {
    const { host } = this;
    const { connectionId, group } = message;
    // Recorded as a send is, whatever comes of it: a handoff or checkpoint of the connection then
    // tells whether this server had applied it. A copy is applied again, harmlessly.
    host.delivered.accept(message.origin, channel, message.seq);
    const incoming = host.moves.incoming.get(connectionId);
    if (incoming) {
      // Moving here: kept, and applied over its old server's groups when it arrives. Subscribed
      // first, and as the record's own: once it has the group, its channel counts as listened to.
      const subscribed = message.action === "add" ? host.moves.subscribeGroups(connectionId, [group]) : undefined;
      incoming.groupChanged(message.action, group, { origin: message.origin, channel, seq: message.seq });
      await subscribed;
    } else if (host.local.has(connectionId)) {
      // The connection may have left since; its channel then no longer reaches this server.
      try {
        await host.changeGroupHere(message.action, connectionId, group);
      } catch (error) {
        // A bound of this server (too many groups): the asking server's call fails with it.
        return host.publish(host.channel("server", message.origin), failureReply(message.ackId, error));
      }
    }
    host.publish(host.channel("server", message.origin), { kind: "ack", ackId: message.ackId });
  }

  /** Publishes a request that is answered; rejects (ERR_BACKPLANE_UNAVAILABLE) when it cannot go out. */
  private request(id: number, channel: string, message: BackplaneMessage): Promise<number> {
    return publishRequest(this.host, id, channel, message);
  }
}

/**
 * Publishes a request that is answered, at once rather than through the outbox (its caller is
 * waiting); rejects with ERR_BACKPLANE_UNAVAILABLE when it cannot go out.
 */
export async function publishRequest(
  host: Pick<ConnectionRequestsHost, "reachable" | "publishNow">,
  id: number,
  channel: string,
  message: BackplaneMessage,
): Promise<number> {
  // Held, the outbox knows the backplane is away (or not yet heard back from): fail at once.
  if (!host.reachable()) throw new HubwireError("ERR_BACKPLANE_UNAVAILABLE", `The backplane could not take message ${id}: it is unreachable.`);
  try {
    return await host.publishNow(channel, message);
  } catch (error) {
    throw new HubwireError("ERR_BACKPLANE_UNAVAILABLE", `The backplane could not take message ${id}: ${(error as Error).message}`);
  }
}
