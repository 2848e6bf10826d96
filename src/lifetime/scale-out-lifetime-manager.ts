import { randomUUID } from "node:crypto";
import type { ClientInvokeOptions } from "../connection/client-results.js";
import type { HubConnection } from "../connection/hub-connection.js";
import type { CloseMessage } from "../protocol/messages.js";
import { SerializedHubMessage } from "../protocol/serialized-message.js";
import { LogWriter, type LogFields } from "../logger.js";
import { lifetimeLog } from "./lifetime-log.js";
import { encodeBackplaneMessage, type BackplaneMessage, type SendMessage } from "./backplane-messages.js";
import { ConnectionRecovery } from "./connection-recovery.js";
import { BackplaneOutbox } from "./backplane-outbox.js";
import type { HubLifetimeManager } from "./hub-lifetime-manager.js";
import { InMemoryLifetimeManager, invocationOf, type LocalMembership } from "./in-memory-lifetime-manager.js";
import { HubChannels, type ChannelKind } from "./hub-channels.js";
import { ConnectionLookups } from "./connection-lookups.js";
import { ConnectionRequests } from "./connection-requests.js";
import { Presence, type PathDownReason } from "./presence.js";
import { ScaleOutMoves } from "./scale-out-moves.js";
import { SendCodec } from "./send-codec.js";
import { resolveSettings, type ResolvedSettings } from "./scale-out-settings.js";
import { OutageLog } from "./outage-log.js";
import { LinkReplays } from "./link-replays.js";
import { SendSequences } from "./send-sequences.js";
import { settledBackplane } from "./settled-backplane.js";
import { settlesWithin } from "../settles-within.js";
import type { Backplane } from "./backplane.js";
import type { Target } from "./target.js";
import type { ScaleOutOptions, ScaleOutStats } from "./scale-out-options.js";

export type { ScaleOutSettings } from "./scale-out-settings.js";
export type { ScaleOutOptions, ScaleOutStats } from "./scale-out-options.js";

/**
 * The lifetime manager of a hub served by several processes (ASP.NET Core's Redis backplane
 * design). Connections live on one server; each server subscribes to the channels its own
 * connections need: the hub's `all`, one per connection, and one per group and user it has
 * members of. A send serves local connections at once and is published once for the others,
 * already encoded in every protocol. Group changes and client results for a connection on
 * another server go to that connection's channel and are answered on the asking server's own.
 *
 * A send never waits on the backplane: local connections receive it at once, and what other
 * servers need goes through a bounded outbox that holds it, in order, while the backplane is
 * away. Every server announces itself on the hub's presence channel, so the others notice
 * when it dies. docs/scale-out.md describes both.
 */
export class ScaleOutLifetimeManager implements HubLifetimeManager {
  private readonly local: InMemoryLifetimeManager;
  private readonly serverId: string;
  private readonly started: Promise<void>;
  private readonly log: LogWriter;
  /** The application's backplane, whose calls never throw (see settledBackplane). */
  private readonly backplane: Backplane;
  private readonly channels: HubChannels;
  private readonly outbox: BackplaneOutbox;
  /** What a server whose own link dropped missed, sent to it again (see LinkReplays). */
  private readonly replays: LinkReplays;
  private readonly presence: Presence;
  /** Stops the backplane's reports of its links dropping and coming back (see Backplane.watchLinks). */
  private readonly unwatchLinks: (() => void) | undefined;
  /** The number of this server's last send; see SendMessage.seq. */
  private sendSeq = 0;
  private readonly delivered = new SendSequences();
  private readonly outage: OutageLog;
  private readonly settings: ResolvedSettings;
  private readonly codec: SendCodec;
  /** Connections moving here from other servers, or away (see LifetimeMoves). */
  readonly moves: ScaleOutMoves;
  /** Group changes and client results for connections other servers hold, and answers for ours. */
  private readonly requests: ConnectionRequests;
  /** Which connections a user or a group has on every server. */
  private readonly lookups: ConnectionLookups;
  /** Crash recovery of stateful connections, when the settings turn it on. */
  private readonly recovery: ConnectionRecovery | undefined;
  /**
   * What arrives on connections' channels, and on `all`, groups' and users': one handler each
   * for all (see HubChannels.subscribe). A peer's message waits while what it sends again is
   * awaited (see LinkReplays).
   */
  private readonly onConnectionPayload = (payload: Uint8Array, channel: string): void => {
    const message = this.channels.decode(payload, channel);
    if (this.replays.holding && this.replays.hold(message, payload, () => this.onConnectionMessage(message, channel))) return;
    this.onConnectionMessage(message, channel);
  };
  private readonly onSendPayload = (payload: Uint8Array, channel: string): void => {
    const message = this.channels.decode(payload, channel);
    if (this.replays.holding && this.replays.hold(message, payload, () => this.onSend(message, channel))) return;
    this.onSend(message, channel);
  };

  constructor(private readonly options: ScaleOutOptions) {
    this.serverId = options.serverId ?? randomUUID();
    this.log = LogWriter.for(options.logger);
    this.settings = resolveSettings(options.settings);
    this.codec = new SendCodec(options.protocols, this.log, options.hubName);
    this.local = new InMemoryLifetimeManager({ maximumGroupsPerConnection: options.maximumGroupsPerConnection });
    const backplane = (this.backplane = settledBackplane(options.backplane));
    this.channels = new HubChannels(backplane, this.log, options.hubName, this.serverId, this.delivered);
    this.outage = new OutageLog(this.log, options.hubName);
    const bounds = { maxAge: this.settings.outboxMaxAge, maxBytes: this.settings.outboxMaxBytes };
    const replays = (this.replays = new LinkReplays(
      {
        serverId: this.serverId,
        hubName: options.hubName,
        log: this.log,
        channels: this.channels,
        publish: (channel, message) => this.publish(channel, message),
        deliver: (message, channel) => (this.channels.isOf(channel, "connection") ? this.onConnectionMessage(message, channel) : this.onSend(message, channel)),
      },
      bounds,
      // Asked once this server's outbox opens; answered through the peer's, which may wait up to
      // serverTimeout for its own peers. Asked again a few times meanwhile, if the request was lost.
      { timeout: 2 * this.settings.serverTimeout, retry: this.settings.serverTimeout / 4, lookback: this.settings.heartbeatInterval, history: this.settings.outboxMaxAge },
    ));
    this.outbox = new BackplaneOutbox(
      (channel, payload) => backplane.publish(channel, payload),
      bounds,
      (error) => this.onPathDown("publish failed", error),
      (waited, drops) => this.outage.resumed(waited, drops),
      (message) => replays.handed(message),
    );
    this.presence = new Presence(
      this.serverId,
      { heartbeatInterval: this.settings.heartbeatInterval, timeout: this.settings.serverTimeout },
      {
        publishHeartbeat: (listening, sentAt, linkDropped) =>
          backplane.publish(
            this.channels.name("presence"),
            encodeBackplaneMessage({ kind: "alive", origin: this.serverId, listening, sentAt, linkDropped: linkDropped || undefined, seq: this.outbox.confirmedThrough }),
          ),
        onServerGone: (serverId, left) => this.onServerGone(serverId, left),
        onDown: (reason) => this.onPathDown(reason),
        onUnheard: () => this.onUnheard(),
        onListeners: () => this.onListeners(),
        onPeerDeaf: (serverId) => this.onPeerDeaf(serverId),
      },
    );
    this.unwatchLinks = backplane.watchLinks?.({
      dropped: (drop) => {
        this.replays.linkDropped(this.presence.peerIds(), drop, (serverId, channels) => this.delivered.replayAfter(serverId, channels));
        if (!drop.partial) this.presence.linkDropped(); // one of several: it may hear itself on another
      },
      restored: () => {
        this.replays.linkRestored();
        this.presence.linkRestored();
        // The peers are asked once this server hears again (see onListeners), also if its presence took no note of the drop.
        if (this.replays.holding) this.presence.awaitListeners();
      },
    });
    this.started = this.subscribeServerChannels().then(() => this.presence.start());
    this.moves = new ScaleOutMoves({
      serverId: this.serverId,
      local: this.local,
      leave: (connection, movedAway) => this.leave(connection, movedAway),
      released: (connectionId) => this.recovery?.released(connectionId),
      hasDied: (serverId) => this.presence.hasDied(serverId),
      delivered: this.delivered,
      lastSeq: () => this.sendSeq,
      reachable: () => this.outbox.isOpen,
      channel: (kind, name) => this.channels.name(kind, name),
      subscribeConnection: (id) => this.subscribeConnection(id),
      subscribeMembers: (kind, name) => this.subscribeMembers(kind, name),
      unsubscribe: (channel) => this.channels.unsubscribe(channel),
      publishFence: (channel, fenceId) => backplane.publish(channel, encodeBackplaneMessage({ kind: "fence", origin: this.serverId, fenceId })),
      fenceTimeout: this.settings.serverTimeout,
    });
    // Requests of a connection's holder and lookups across servers ask and are answered alike.
    const asking = {
      serverId: this.serverId,
      channel: (kind: ChannelKind, name?: string) => this.channels.name(kind, name),
      publish: (channel: string, message: BackplaneMessage) => this.publish(channel, message),
      reachable: () => this.outbox.isOpen,
      publishNow: (channel: string, message: BackplaneMessage) => backplane.publish(channel, encodeBackplaneMessage(message)),
    };
    const ackTimeout = options.ackTimeout ?? 10_000;
    this.requests = new ConnectionRequests({
      ...asking,
      local: this.local,
      moves: this.moves,
      delivered: this.delivered,
      changeGroupHere: (action, connectionId, group) => (action === "add" ? this.addLocal(connectionId, group) : this.removeLocal(connectionId, group)),
      nextSeq: () => this.nextSeq(),
      clientResultTimeout: options.clientResultTimeout,
      ackTimeout,
      serverTimeout: this.settings.serverTimeout,
    });
    this.lookups = new ConnectionLookups({
      ...asking,
      peers: () => this.started.then(() => this.presence.peersAnnounced()).then(() => this.presence.peerIds()),
      connectionsHere: (target) => [...this.local.connectionIdsIn(target), ...this.moves.incoming.connectionIdsIn(target)],
      timeout: ackTimeout,
    });
    const { recovery } = this.settings;
    if (recovery) {
      this.recovery = new ConnectionRecovery(
        {
          serverId: this.serverId,
          hubName: options.hubName,
          local: this.local,
          moves: this.moves,
          delivered: this.delivered,
          log: this.log,
          lastSeq: () => this.sendSeq,
          nextSeq: () => this.nextSeq(),
          peers: () => this.presence.peerIds(),
          lastHeartbeat: (serverId) => this.presence.lastHeartbeat(serverId),
          channel: (kind, name) => this.channels.name(kind, name),
          publish: (channel, message) => this.publish(channel, message),
        },
        { interval: this.settings.heartbeatInterval, serverTimeout: this.settings.serverTimeout, maxMessages: recovery.maxMessages },
      );
      this.moves.recovery = this.recovery;
      void this.started.then(() => this.recovery?.start());
    }
  }

  /** The channels every server of the hub listens on, whatever its connections. */
  private async subscribeServerChannels(): Promise<void> {
    await Promise.all([
      this.channels.subscribe(this.channels.name("all"), this.onSendPayload),
      this.channels.subscribe(this.channels.name("server", this.serverId), (payload, channel) => this.onReply(this.channels.decode(payload, channel))),
      this.channels.subscribe(this.channels.name("presence"), (payload, channel) => this.onPresence(this.channels.decode(payload, channel))),
    ]);
  }

  /**
   * Stops the heartbeat, tells the other servers this one leaves, and waits (up to
   * `serverTimeout`) until the backplane has taken what the outbox holds: a send resolved before
   * close() reaches the other servers, from a process that sends and exits at once too. Call it
   * before closing the backplane (`HubServer.close()` does, for the managers it made).
   */
  async close(): Promise<void> {
    this.presence.stop();
    this.unwatchLinks?.();
    this.replays.close();
    this.recovery?.stop();
    this.requests.close();
    this.lookups.close();
    // After the replies already in the outbox (the closed connections' failed client results).
    this.publish(this.channels.name("presence"), { kind: "leaving", origin: this.serverId });
    await settlesWithin(this.outbox.settledOrHeld(), this.settings.serverTimeout);
    const { messages } = this.outbox.size;
    if (messages > 0) this.log.write(lifetimeLog.outboxLost, { hub: this.options.hubName, messages });
  }

  /**
   * What this hub's server sent to the others: what waits in the outbox now, what the backplane
   * took, what went to a connection or user no server holds (a send to a connection that no
   * longer exists is not delivered), and what the outbox dropped past its bounds.
   *
   * @example
   * const { waiting, unreceived } = manager.stats;
   */
  get stats(): ScaleOutStats {
    const stats: ScaleOutStats = { ...this.outbox.stats, received: this.channels.received, resent: this.replays.resent, replayed: this.replays.replayed };
    if (this.recovery) stats.recovery = this.recovery.counts;
    return stats;
  }

  /** This server's own connections, users and groups, read-only. */
  get localMembership(): LocalMembership {
    return this.local;
  }

  /** The other servers of the hub heard lately, and whether this server hears itself through the backplane. */
  get peers(): { count: number; connected: boolean } {
    return { count: this.presence.peerCount, connected: this.presence.hearsItself };
  }

  async onConnected(connection: HubConnection): Promise<void> {
    await this.started;
    const { connectionId, userIdentifier: userId } = connection;
    const firstOfUser = userId !== undefined && !this.local.hasUser(userId) && !this.moves.incoming.hasUser(userId);
    await this.local.onConnected(connection);
    await Promise.all([
      this.subscribeConnection(connectionId),
      firstOfUser ? this.subscribeMembers("user", userId) : undefined,
    ]);
  }

  async onDisconnected(connection: HubConnection): Promise<void> {
    await Promise.all(this.leave(connection).map((channel) => this.channels.unsubscribe(channel)));
  }

  /**
   * Forgets a connection here; returns the channels no connection here, arrived or moving here,
   * needs now. One that `movedAway` keeps its standby's checkpoint until the new server has its
   * state (see ScaleOutMoves.handedOver): if this server dies before, the standby recovers it.
   */
  private leave(connection: HubConnection, movedAway = false): string[] {
    const left = this.local.leave(connection);
    if (!left) return [];
    if (!movedAway) this.recovery?.released(connection.connectionId);
    const { incoming } = this.moves;
    const unneeded = [this.channels.name("connection", connection.connectionId)];
    for (const group of left.groups) if (!incoming.hasGroup(group)) unneeded.push(this.channels.name("group", group));
    if (left.user !== undefined && !incoming.hasUser(left.user)) unneeded.push(this.channels.name("user", left.user));
    return unneeded;
  }

  async send(target: Target, method: string, args: readonly unknown[]): Promise<void> {
    return this.sendEverywhere(target, invocationOf(method, args));
  }

  closeConnections(target: Target, close: CloseMessage): Promise<void> {
    return this.sendEverywhere(target, new SerializedHubMessage(close)); // see deliverTo
  }

  /** `message` to the connections of `target` here, and through the backplane to the others'. */
  private async sendEverywhere(target: Target, message: SerializedHubMessage): Promise<void> {
    this.local.deliver(target, message);
    if (target.kind === "connections") {
      // One rebuilt here for a server judged dead that may hold it still gets it there too.
      const remote = [...new Set(target.ids)].filter((id) => !this.local.has(id) || this.recovery?.heldTwice(id));
      if (remote.length === 0) return;
      const payloads = this.codec.encode(message);
      for (const id of remote) {
        const channel = this.channels.name("connection", id);
        const one: Target = { kind: "connections", ids: [id] };
        const seq = this.publishSend(channel, one, payloads);
        // Delivered here already: its copy coming back through the backplane is dropped.
        if (this.local.has(id)) this.delivered.accept(this.serverId, channel, seq);
        // Moving here: kept now, as it is sent, and its copy coming back through the backplane
        // dropped, or a send made once it has arrived would overtake it.
        else if (this.moves.incoming.get(id) && this.delivered.accept(this.serverId, channel, seq)) this.moves.incoming.capture(one, message, this.serverId, channel, seq);
      }
      return;
    }
    const channel = this.channels.of(target);
    const seq = this.publishSend(channel, target, this.codec.encode(message));
    // This server does not hear its own sends back: a connection moving here keeps them now.
    if (this.moves.incoming.size > 0) this.moves.incoming.capture(target, message, this.serverId, channel, seq);
  }

  connectionsOf(target: Target): Promise<string[]> {
    return this.lookups.connectionsOf(target);
  }

  async addToGroup(connectionId: string, groupName: string): Promise<void> {
    if (!this.local.has(connectionId)) return this.requests.changeGroup("add", connectionId, groupName);
    await this.addLocal(connectionId, groupName);
    this.recovery?.grouped(connectionId, "add", groupName);
  }

  async removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    if (!this.local.has(connectionId)) return this.requests.changeGroup("remove", connectionId, groupName);
    await this.removeLocal(connectionId, groupName);
    this.recovery?.grouped(connectionId, "remove", groupName);
  }

  invokeConnection(connectionId: string, method: string, args: readonly unknown[], options: ClientInvokeOptions = {}): Promise<unknown> {
    if (this.local.has(connectionId)) return this.local.invokeConnection(connectionId, method, args, options);
    return this.requests.invoke(connectionId, method, args, options);
  }

  private async addLocal(connectionId: string, group: string): Promise<void> {
    const first = !this.local.hasGroup(group) && !this.moves.incoming.hasGroup(group);
    await this.local.addToGroup(connectionId, group);
    if (first) await this.subscribeMembers("group", group);
  }

  private async removeLocal(connectionId: string, group: string): Promise<void> {
    const hadMembers = this.local.hasGroup(group);
    await this.local.removeFromGroup(connectionId, group);
    if (hadMembers && !this.local.hasGroup(group) && !this.moves.incoming.hasGroup(group)) await this.channels.unsubscribe(this.channels.name("group", group));
  }

  /** A message on `all`, a group's or a user's channel: for this server's connections of its target. */
  private onSend(message: BackplaneMessage, channel: string): void {
    if (message.kind === "fence") return this.moves.fenceHeard(message.origin, message.fenceId, channel);
    if (message.kind === "connectionsOf" && message.origin !== this.serverId) return this.lookups.answer(message);
    if (message.kind !== "send" || message.origin === this.serverId) return;
    this.deliverFromRemote(message, channel);
  }

  /** A message on the channel of a connection this server holds. */
  private onConnectionMessage(message: BackplaneMessage, channel: string): void {
    switch (message.kind) {
      case "send":
        return this.deliverFromRemote(message, channel);
      case "group":
        return void this.requests.answerGroupChange(message, channel);
      case "invoke":
        return void this.requests.answerInvoke(message);
      case "fence":
        return this.moves.fenceHeard(message.origin, message.fenceId, channel);
    }
  }

  private onReply(message: BackplaneMessage): void {
    if (this.requests.onAnswer(message) || this.lookups.onAnswer(message)) return;
    if (message.kind === "checkpoint" || message.kind === "grouped" || message.kind === "released") this.recovery?.onMessage(message);
    else this.replays.onMessage(message);
  }

  /**
   * This server and its peers hear again: the outbox publishes what waited, and each peer is asked
   * for what this server missed while its own link was down, if it was.
   */
  private onListeners(): void {
    this.outbox.open();
    this.replays.askPeers();
  }

  private onPresence(message: BackplaneMessage): void {
    if (message.kind === "alive") {
      this.presence.heard(message.origin, message.listening, message.sentAt, message.linkDropped === true);
      if (message.seq !== undefined) this.replays.heartbeat(message.origin, message.seq);
    }
    else if (message.kind === "leaving" && message.origin !== this.serverId) this.presence.left(message.origin);
  }

  private onServerGone(serverId: string, left: boolean): void {
    const { outboxMaxAge, serverTimeout } = this.settings;
    this.delivered.forgetLater(serverId, outboxMaxAge + serverTimeout, () => !this.presence.isAlive(serverId));
    if (left) this.log.write(lifetimeLog.serverLeft, { hub: this.options.hubName, serverId });
    else this.log.write(lifetimeLog.serverGone, { hub: this.options.hubName, serverId, timeout: this.settings.serverTimeout });
    this.requests.serverGone(serverId);
    this.lookups.serverGone(serverId);
    this.replays.forget(serverId);
    this.recovery?.serverGone(serverId, left);
  }

  /**
   * A publish failed, this server stopped hearing itself, or a link to the backplane dropped:
   * hold what goes to other servers until this server and its peers hear again (a peer whose own
   * link came back later would miss what went out before).
   */
  private onPathDown(reason: PathDownReason, error?: unknown): void {
    this.holdOutbox(error === undefined ? { reason } : { reason, error });
    this.presence.down(reason);
    this.presence.awaitListeners();
  }

  /**
   * A connection of a peer's own to the backplane dropped: what this server publishes now would
   * not reach it. Held until it says it listens again, or `serverTimeout`: the peer asks for the
   * sends it missed before (LinkReplays), never for group change requests, results or fences.
   */
  private onPeerDeaf(serverId: string): void {
    this.holdOutbox({ reason: "peer not listening", serverId });
    this.presence.awaitListeners();
  }

  /** Holds what goes to other servers (see OutageLog). */
  private holdOutbox(fields: LogFields): void {
    this.outage.holding(fields);
    this.outbox.hold();
  }

  /**
   * Its heartbeats go out but none comes back: the backplane may have lost a subscription it
   * believes made (on a Redis Cluster, ioredis remakes a restarted shard's subscriptions and
   * drops a failure silently). Subscribing again is harmless; without it this server would not
   * hear itself again, and its outbox would hold until Presence stops waiting.
   */
  private onUnheard(): void {
    this.log.write(lifetimeLog.unheard, { hub: this.options.hubName, timeout: this.settings.serverTimeout });
    const { backplane } = this;
    // subscribeServerChannels logs its own failures.
    if (!backplane.resubscribeAll) return void this.subscribeServerChannels();
    backplane.resubscribeAll().catch((error: unknown) => this.log.write(lifetimeLog.resubscribeFailed, { hub: this.options.hubName, error }));
  }

  private deliverFromRemote(message: SendMessage, channel: string): void {
    if (!this.delivered.accept(message.origin, channel, message.seq)) return;
    const serialized = this.codec.decode(message.payloads);
    if (!serialized) return;
    this.local.deliver(message.target, serialized);
    if (this.moves.incoming.size > 0) this.moves.incoming.capture(message.target, serialized, message.origin, channel, message.seq);
  }

  /** Returns the send's number. */
  private publishSend(channel: string, target: Target, payloads: Record<string, string | Uint8Array>): number {
    const message: SendMessage = { kind: "send", origin: this.serverId, target, payloads, seq: this.nextSeq() };
    // A connection's or a user's own channel has a receiver only while some server holds it.
    const ownChannel = target.kind === "connections" || (target.kind === "users" && target.ids.length === 1);
    this.outbox.add(channel, encodeBackplaneMessage(message), ownChannel, message.seq);
    return message.seq!;
  }

  /** Numbers a message as this server's next send: its sends, group change requests and `grouped` notices share one sequence. */
  private nextSeq(): number {
    return ++this.sendSeq;
  }

  /** Hands a message to the outbox, in order after the others: it never waits on the backplane. */
  private publish(channel: string, message: BackplaneMessage): void {
    this.outbox.add(channel, encodeBackplaneMessage(message), false, "seq" in message ? message.seq : undefined);
  }

  private subscribeConnection(connectionId: string): Promise<void> {
    return this.channels.subscribe(this.channels.name("connection", connectionId), this.onConnectionPayload);
  }

  /** A group's or a user's channel: sends for the members this server holds. */
  private subscribeMembers(kind: "group" | "user", name: string): Promise<void> {
    return this.channels.subscribe(this.channels.name(kind, name), this.onSendPayload);
  }
}
