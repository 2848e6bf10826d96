import type { LogWriter } from "../logger.js";
import type { LinkDrop } from "./backplane.js";
import type { BackplaneMessage, ResendMessage, ResentMessage } from "./backplane-messages.js";
import type { OutboxBounds } from "./backplane-outbox.js";
import type { HubChannels } from "./hub-channels.js";
import { lifetimeLog } from "./lifetime-log.js";
import { PeerReplays, type ReplayRequest } from "./peer-replays.js";
import { ReplayLog, type Handed } from "./replay-log.js";

/** What LinkReplays needs of the hub's scale-out manager. */
export interface LinkReplaysHost {
  readonly serverId: string;
  readonly hubName: string;
  readonly log: LogWriter;
  readonly channels: HubChannels;
  /** Hands a message to the outbox, in order after the others. */
  publish(channel: string, message: BackplaneMessage): void;
  /** Delivers a message a peer sent again as if it had arrived on `channel` (a connection's, or a send's). */
  deliver(message: BackplaneMessage, channel: string): void;
}

/**
 * Both sides of sending again what a server missed while its own link to the backplane was down
 * (docs/scale-out.md, "Sent again to a server that missed it"): this server's recent numbered
 * messages, for a peer that asks (ReplayLog), and, after this server's own link dropped, its
 * peers' messages held until each has sent again what it missed (PeerReplays).
 */
export class LinkReplays {
  private readonly sent: ReplayLog;
  private readonly peers: PeerReplays;
  /** Messages sent again to peers, and received again from them (see ScaleOutStats). */
  resent = 0;
  replayed = 0;
  /** A link of this server's dropped and is not back: asked now, a peer's answer could be lost too. */
  private linkDown = false;
  /** The newest request of each peer answered: a request made again whose first copy came is not answered twice. */
  private readonly answeredRequests = new Map<string, number>();

  constructor(
    private readonly host: LinkReplaysHost,
    bounds: OutboxBounds,
    times: {
      /** How long after its request a peer's answer may take (it comes through the peer's outbox). */
      timeout: number;
      /** See PeerReplays: how often a request not answered yet is made again. */
      retry: number;
      /** See PeerReplays: one heartbeat interval. */
      lookback: number;
      /** See PeerReplays: the outbox's maxAge. */
      history: number;
    },
  ) {
    this.sent = new ReplayLog(bounds);
    const { log, hubName: hub } = host;
    this.peers = new PeerReplays(
      { maxBytes: bounds.maxBytes, ...times },
      {
        onReplayed: (serverId, resent, held) => log.write(lifetimeLog.replayed, { hub, serverId, resent, held }),
        onIncomplete: (serverId, after, from) => log.write(lifetimeLog.replayIncomplete, { hub, serverId, missing: from - after - 1 }),
        onGaveUp: (serverId, reason, held) => log.write(lifetimeLog.replayGaveUp, { hub, serverId, reason, held }),
        onHeldThrew: (error) => log.write(lifetimeLog.malformedMessage, { hub, error }),
        onAskAgain: (request) => this.ask(request, true),
      },
    );
  }

  /** A numbered message went to the backplane (see BackplaneOutbox's onHanded). */
  handed(message: Handed): void {
    this.sent.handed(message);
  }

  /** Whether some peer's messages wait for its answer: the only check a message pays otherwise. */
  get holding(): boolean {
    return this.peers.holding;
  }

  /** Whether `message` waits for what its server sends again; `deliver` delivers it then. */
  hold(message: BackplaneMessage, payload: Uint8Array, deliver: () => void): boolean {
    return "origin" in message && message.origin !== this.host.serverId && this.peers.hold(message.origin, payload.byteLength, deliver);
  }

  /** A peer's heartbeat carried the newest number it had handed the backplane. */
  heartbeat(serverId: string, seq: number): void {
    if (serverId !== this.host.serverId) this.peers.heartbeat(serverId, seq);
  }

  /** This server's own link dropped (see PeerReplays.linkDropped): the messages of each of `peers` wait for what it sends again. */
  linkDropped(peers: Iterable<string>, drop: LinkDrop, replayAfter?: (serverId: string, channels: readonly string[]) => number | undefined): void {
    this.linkDown = true;
    const { channels, since, partial } = drop;
    this.host.log.write(lifetimeLog.linkDropped, { hub: this.host.hubName, since, partial, channels });
    this.peers.linkDropped(peers, drop, replayAfter);
  }

  /** This server's links are back, with their subscriptions. */
  linkRestored(): void {
    this.linkDown = false;
  }

  /** This server's links are back, and it and its peers hear again: each peer whose messages wait is asked for what this server missed. */
  askPeers(): void {
    if (this.linkDown) return;
    for (const request of this.peers.requests()) this.ask(request, false);
  }

  private ask({ serverId, requestId, after, earlier }: ReplayRequest, again: boolean): void {
    const { host } = this;
    host.log.write(lifetimeLog.replayAsked, { hub: host.hubName, serverId, requestId, after, earlier, again });
    host.publish(host.channels.name("server", serverId), { kind: "resend", origin: host.serverId, requestId, after, earlier });
  }

  /** A message of the exchange on this server's own channel; false for any other. */
  onMessage(message: BackplaneMessage): boolean {
    if (message.kind === "resend") this.answer(message);
    else if (message.kind === "resent") this.replay(message);
    else return false;
    return true;
  }

  /** A peer is gone: what it sent and waited here is delivered. */
  forget(serverId: string): void {
    this.peers.forget(serverId);
    this.answeredRequests.delete(serverId);
  }

  close(): void {
    this.peers.close();
  }

  /**
   * A peer's link dropped and it asks for what this server handed the backplane since the last
   * heartbeat it heard: sent to its own channel, through the outbox, after what waits there for it.
   */
  private answer(request: ResendMessage): void {
    if (request.requestId <= (this.answeredRequests.get(request.origin) ?? 0)) return; // made again, and its first copy came
    this.answeredRequests.set(request.origin, request.requestId);
    const { host } = this;
    const to = host.channels.name("server", request.origin);
    // Not the notices to a server's own channel (a standby's `grouped`): the next checkpoint counts what they said.
    for (const part of this.sent.answer(host.serverId, request, (channel) => host.channels.isOf(channel, "server"))) {
      this.resent += part.messages.length;
      host.publish(to, part);
    }
  }

  /** A part of what a peer sent again: each message is delivered as if it had arrived on its channel, if this server listens there. */
  private replay(answer: ResentMessage): void {
    const { host } = this;
    for (const [channel, payload] of answer.messages) {
      if (!host.channels.listensTo(channel)) continue;
      this.replayed++;
      try {
        host.deliver(host.channels.decode(payload, channel), channel);
      } catch (error) {
        host.log.write(lifetimeLog.malformedMessage, { hub: host.hubName, channel, error });
      }
    }
    this.peers.answered(answer.origin, answer.requestId, { from: answer.from, first: answer.part === 0, last: answer.last, messages: answer.messages.length });
  }
}
