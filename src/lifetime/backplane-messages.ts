import { Decoder, Encoder } from "@msgpack/msgpack";
import type { MessageBufferState } from "../connection/movable-message-buffer.js";
import type { DeliveredRecord } from "./connection-handoff.js";
import type { Target } from "./target.js";

/** A send for the connections of `target` on every server, already encoded in each hub protocol. */
export interface SendMessage {
  kind: "send";
  /** The server that sent it; it has served its own connections already. */
  origin: string;
  target: Target;
  /** The framed invocation by protocol name (`json`, `messagepack`). */
  payloads: Record<string, string | Uint8Array>;
  /**
   * Counts the origin's sends: a receiver drops one numbered at or below the last it delivered
   * from that origin (a copy published again after a publish that seemed to fail).
   */
  seq?: number;
}

/** Add or remove a connection that lives on another server to or from a group; acked. */
export interface GroupMessage {
  kind: "group";
  origin: string;
  ackId: number;
  action: "add" | "remove";
  connectionId: string;
  group: string;
  /**
   * Numbered as the origin's sends are (SendMessage.seq), and delivered as they are: a server
   * taking the connection over learns from the handoff's or checkpoint's delivered records
   * whether the old server had applied it.
   */
  seq?: number;
}

/** A client result asked of a connection that lives on another server. */
export interface InvokeMessage {
  kind: "invoke";
  origin: string;
  requestId: number;
  connectionId: string;
  method: string;
  args: unknown[];
  timeout?: number;
}

/**
 * Asks every server, on the hub's `all` channel, for the ids of the connections of `target` (a
 * user's, a group's) it holds (HubLifetimeManager.connectionsOf); each answers on the asking
 * server's own channel.
 */
export interface ConnectionsOfMessage {
  kind: "connectionsOf";
  origin: string;
  requestId: number;
  target: Target;
}

/**
 * A server moving a connection to another publishes one on each of the connection's channels and
 * waits to hear it back on all: it has then heard every send published on them before.
 */
export interface FenceMessage {
  kind: "fence";
  origin: string;
  fenceId: number;
}

/**
 * A server announces itself on the hub's presence channel every heartbeat interval, or says it
 * leaves. `sentAt` is on its own clock, read by itself only (see Presence.heard). `linkDropped`:
 * it does not listen because a connection of its own to the backplane dropped, so what the others
 * publish now does not reach it (they hold it; see Presence.linkDropped).
 */
export type PresenceMessage =
  /** `seq`: the newest of its numbers the backplane took, with all before it, before this heartbeat (BackplaneOutbox.confirmedThrough). */
  | { kind: "alive"; origin: string; listening: boolean; sentAt?: number; linkDropped?: true; seq?: number }
  | { kind: "leaving"; origin: string };

/** Answers, sent to the asking server's own channel. */
export type ReplyMessage =
  | { kind: "ack"; ackId: number }
  /** The server holding the connection took the client result request: if it dies, the asker stops waiting. */
  | { kind: "taken"; requestId: number; holder: string }
  | { kind: "result"; requestId: number; result: unknown }
  | { kind: "failure"; requestId: number; name: string; message: string; code?: string }
  /** The connections the server `origin` holds, or is taking over, of the target asked for (see ConnectionsOfMessage). */
  | { kind: "connectionIds"; requestId: number; origin: string; connectionIds: string[] };

/**
 * A stateful connection's state, sent by the server that holds it to the connection's standby
 * every heartbeat interval when recovery is on (see ConnectionRecovery): what the standby needs
 * to take the connection over if its server dies.
 */
export interface CheckpointMessage {
  kind: "checkpoint";
  origin: string;
  connectionId: string;
  /** The connection token: the client comes back with it. */
  token: string;
  identity?: string | undefined;
  userId?: string | undefined;
  protocol: string;
  buffer: MessageBufferState;
  /** The connection's items that can move (see movableItems), when it has any. */
  items?: Array<[string, unknown]> | undefined;
  groups: string[];
  /** The holder's last send number, and what it had delivered on the connection's channels (see LifetimeHandoff). */
  lastSeq: number;
  delivered: DeliveredRecord[];
  /**
   * How many times the connection changed servers (moved, or was recovered) before its holder
   * got it; absent for none. A standby takes no checkpoint of a lower one than it has: an old
   * holder's, held in its outbox until after the new holder's came.
   */
  generation?: number;
  /** A hub of a multiplexed connection: what rebuilding that connection needs (transport data, see Transport.carried). */
  carrier?: unknown;
  /** A hub of a multiplexed connection: that connection's token, which its client reconnects with. */
  carrierToken?: string | undefined;
}

/**
 * A holder's own group change of a connection it checkpoints, told to the connection's standby
 * at once rather than at the next checkpoint (crash recovery): numbered as the holder's sends
 * are, so a later checkpoint counts it (see LifetimeHandoff.lastSeq).
 */
export interface GroupedMessage {
  kind: "grouped";
  origin: string;
  connectionId: string;
  action: "add" | "remove";
  group: string;
  seq: number;
}

/** The connection ended or moved, or its checkpoints go to another standby now: the standby forgets it. */
export interface ReleasedMessage {
  kind: "released";
  origin: string;
  connectionId: string;
}

/**
 * Asks the server it is sent to for the numbered messages it handed the backplane after `after`:
 * the asking server's own link to the backplane dropped, and it missed them (see PeerReplays).
 */
export interface ResendMessage {
  kind: "resend";
  origin: string;
  requestId: number;
  after: number;
  /** And those on some channels from an earlier number (see EarlierReplay). */
  earlier?: EarlierReplay;
}

/**
 * Part of a replay that starts earlier than the heartbeats say, on `channels` only: everything
 * sent there after `after`. A Redis Cluster slot handed to another shard may have taken sends the
 * heartbeats named before the asking server found the move (see PeerReplays.linkDropped).
 */
export interface EarlierReplay {
  after: number;
  channels: string[];
}

/**
 * A part of the answer to a ResendMessage, on the asking server's own channel: each message as
 * `[channel, payload]`, as it was published. `from`: the first number the origin still kept.
 */
export interface ResentMessage {
  kind: "resent";
  origin: string;
  requestId: number;
  from: number;
  part: number;
  last: boolean;
  messages: Array<[channel: string, payload: Uint8Array]>;
}

export type BackplaneMessage =
  | ResendMessage
  | ResentMessage
  | SendMessage
  | GroupMessage
  | InvokeMessage
  | ConnectionsOfMessage
  | ReplyMessage
  | PresenceMessage
  | FenceMessage
  | CheckpointMessage
  | GroupedMessage
  | ReleasedMessage;

// One of each for every message. `encode()` would make an encoder per call, and return a view
// of its 2 KiB buffer: the outbox, which counts a message's bytes against its bound, would hold
// ten times as much memory as it counts for a small send.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/** The message's bytes, in a buffer of their own. */
export function encodeBackplaneMessage(message: BackplaneMessage): Uint8Array {
  return encoder.encode(message);
}

/** Throws on bytes that are not a backplane message; the caller logs and drops them. */
export function decodeBackplaneMessage(payload: Uint8Array): BackplaneMessage {
  const message = decoder.decode(payload) as BackplaneMessage | null;
  if (typeof message !== "object" || message === null || typeof message.kind !== "string") {
    throw new Error("not a hubwire backplane message");
  }
  return message;
}
