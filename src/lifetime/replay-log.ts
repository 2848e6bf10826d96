import type { ResendMessage, ResentMessage } from "./backplane-messages.js";
import type { OutboxBounds } from "./backplane-outbox.js";

/** An answer's messages go in parts of about this many bytes: one backplane message each, none huge. */
const partBytes = 256 * 1024;

/** A numbered message this server handed to the backplane. */
export interface Handed {
  readonly channel: string;
  readonly payload: Uint8Array;
  /** When it was sent (ms since the epoch). */
  readonly at: number;
  readonly seq: number;
}

/** What `ReplayLog.after` found: the messages, and the first number it still had. */
export interface Replay {
  messages: Handed[];
  /** The number of the oldest message kept; a later one than asked for means older ones were let go. */
  from: number;
}

/**
 * The numbered messages (sends, group changes) this server handed to the backplane lately, in
 * the order handed, for a server whose own subscribing link dropped and that asks for what it
 * missed meanwhile (see PeerReplays). Pub/sub delivers at most once, so those are lost to it
 * otherwise. Kept within the outbox's bounds (age and bytes): a server that was deaf longer
 * than the outbox would have kept its messages misses what is past them, and is told so.
 */
export class ReplayLog {
  private readonly kept: Handed[] = [];
  private head = 0;
  private bytes = 0;
  private newest = 0;

  constructor(private readonly bounds: OutboxBounds) {}

  /** A message went to the backplane; one published again after a failure is kept once. */
  handed(message: Handed): void {
    if (message.seq <= this.newest) return;
    this.newest = message.seq;
    this.kept.push(message);
    this.bytes += message.payload.byteLength;
    this.trim(message.at);
  }

  /** The messages handed after number `seq` and still kept, oldest first. */
  after(seq: number): Replay {
    this.trim(Date.now());
    const { kept } = this;
    let low = this.head;
    let high = kept.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (kept[middle]!.seq <= seq) low = middle + 1;
      else high = middle;
    }
    const from = this.head < kept.length ? kept[this.head]!.seq : this.newest + 1;
    return { messages: kept.slice(low), from };
  }

  /**
   * The answer of server `origin` to `request`, in parts, oldest messages first: those handed
   * after the number asked for, and before it those on the channels of its earlier part, but for
   * the channels `skip` names. `from` says where all of them start: what the earlier part asked
   * for past this log's bounds is not told (sends older than a whole outbox's age, on channels a
   * server heard until a slot moved).
   */
  answer(origin: string, request: ResendMessage, skip: (channel: string) => boolean): ResentMessage[] {
    const { earlier } = request;
    const earlierChannels = earlier && new Set(earlier.channels);
    const { messages, from } = this.after(earlier ? Math.min(request.after, earlier.after) : request.after);
    const parts: ResentMessage[] = [];
    let part: ResentMessage["messages"] = [];
    let bytes = 0;
    const end = (last: boolean): void => {
      parts.push({ kind: "resent", origin, requestId: request.requestId, from, part: parts.length, last, messages: part });
      [part, bytes] = [[], 0];
    };
    for (const { channel, payload, seq } of messages) {
      if (skip(channel) || (seq <= request.after && !earlierChannels?.has(channel))) continue;
      part.push([channel, payload]);
      bytes += payload.byteLength;
      if (bytes >= partBytes) end(false);
    }
    end(true);
    return parts;
  }

  private trim(now: number): void {
    const { kept } = this;
    const oldest = now - this.bounds.maxAge;
    while (this.head < kept.length && (kept[this.head]!.at < oldest || this.bytes > this.bounds.maxBytes)) {
      this.bytes -= kept[this.head]!.payload.byteLength;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > kept.length) {
      kept.splice(0, this.head);
      this.head = 0;
    }
  }
}
