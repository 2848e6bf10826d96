import type { LogWriter } from "../logger.js";
import type { Backplane } from "./backplane.js";
import { decodeBackplaneMessage, type BackplaneMessage } from "./backplane-messages.js";
import { LoggedSubscriptions } from "./logged-subscriptions.js";
import type { SendSequences } from "./send-sequences.js";
import type { Target } from "./target.js";

/** The kinds of a hub's backplane channels (see docs/scale-out.md). */
export type ChannelKind = "all" | "server" | "connection" | "group" | "user" | "presence";

/**
 * The backplane channels of one hub on one server: their names, and subscriptions that decode
 * what arrives and count what the other servers sent.
 */
export class HubChannels {
  private readonly prefix: string;
  private readonly subscriptions: LoggedSubscriptions;
  private readonly presenceChannel: string;
  /** The channels subscribed and not unsubscribed since: a channel left is forgotten only if it is not among them again. */
  private readonly listening = new Set<string>();
  /** Messages received from the other servers (their heartbeats not included). */
  received = 0;

  constructor(
    backplane: Backplane,
    log: LogWriter,
    hubName: string,
    private readonly serverId: string,
    /** Forgets a channel's send numbers when this server stops listening there. */
    private readonly delivered: SendSequences,
  ) {
    this.prefix = `${hubName}:`;
    this.presenceChannel = this.name("presence");
    this.subscriptions = new LoggedSubscriptions(backplane, log, hubName);
  }

  name(kind: ChannelKind, name?: string): string {
    return name === undefined ? this.prefix + kind : `${this.prefix}${kind}:${name}`;
  }

  /** Whether this server listens on `channel` now. */
  listensTo(channel: string): boolean {
    return this.listening.has(channel);
  }

  /** Whether `channel` is of kind `kind` (a named one: a connection's, a server's, ...). */
  isOf(channel: string, kind: Exclude<ChannelKind, "all" | "presence">): boolean {
    return channel.startsWith(`${this.prefix}${kind}:`);
  }

  /** Where a send to `target` is published: one group or user has a channel of its own; several go to every server, which dedupes. */
  of(target: Exclude<Target, { kind: "connections" }>): string {
    if (target.kind === "groups" && target.names.length === 1) return this.name("group", target.names[0]!);
    if (target.kind === "users" && target.ids.length === 1) return this.name("user", target.ids[0]!);
    return this.name("all");
  }

  /**
   * `onPayload` reads what arrives with {@link decode}. Give one handler for all channels of a
   * kind, not one made per channel: a connection's channel would hold its own.
   */
  subscribe(channel: string, onPayload: (payload: Uint8Array, channel: string) => void): Promise<void> {
    this.listening.add(channel);
    return this.subscriptions.subscribe(channel, onPayload);
  }

  /** A message that arrived on `channel`; throws for bytes that are not one (the subscription logs and drops them). */
  decode(payload: Uint8Array, channel: string): BackplaneMessage {
    const message = decodeBackplaneMessage(payload);
    // Heartbeats are not counted, nor this server's own sends that come back on shared channels.
    if (channel !== this.presenceChannel && (!("origin" in message) || message.origin !== this.serverId)) this.received++;
    return message;
  }

  /**
   * Stops listening on `channel`, and forgets its send numbers once the unsubscribe is done: what
   * the backplane delivered until then still comes through the handler (see Backplane.unsubscribe),
   * and a send it accepts is remembered again. Not when the channel was subscribed again
   * meanwhile: its numbers then still tell copies from new sends.
   */
  async unsubscribe(channel: string): Promise<void> {
    this.listening.delete(channel);
    await this.subscriptions.unsubscribe(channel);
    if (!this.listening.has(channel)) this.delivered.forgetChannel(channel);
  }
}
